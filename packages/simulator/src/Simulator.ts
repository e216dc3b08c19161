/**
 * A Live Stream simulator: a real HTTP/1.1 server on loopback that behaves like Adobe's. This
 * module is the service, its routes and its listeners; each behaviour has its own home:
 *
 * - `SimulatorOptions`: the settings and their defaults;
 * - `Ims`: the token endpoint, its faults, and the token checks;
 * - `StreamModel`: the vendor's rules, pure (the consumer group, partitions, the grace period,
 *   start positions, the checks in the vendor's order);
 * - `Traffic`: how many hits exist, and what smoothing releases;
 * - `StreamWriter`: a 200 body (pacing, gzip, chunk cutting, faults, preload);
 * - `GroundTruth`: the attempt log, the assignments over time, the hits sent.
 *
 * @since 0.1.0
 */
import { NodeHttpServer, NodeHttpServerRequest } from "@effect/platform-node"
import { Clock, Context, Effect, Layer, Schema, Scope } from "effect"
import { HttpServer, HttpServerRequest, HttpServerResponse } from "effect/http"
import * as Http from "node:http"
import { gzipSync } from "node:zlib"
import * as GroundTruth from "./GroundTruth.ts"
import * as HitGenerator from "./HitGenerator.ts"
import * as Ims from "./Ims.ts"
import type * as Scenario from "./Scenario.ts"
import { defaults, type Options } from "./SimulatorOptions.ts"
import * as StreamModel from "./StreamModel.ts"
import * as StreamWriter from "./StreamWriter.ts"
import * as Traffic from "./Traffic.ts"

/** @since 0.1.0 */
export { defaults } from "./SimulatorOptions.ts"
/** @since 0.1.0 */
export type { Burst, Options } from "./SimulatorOptions.ts"
/** @since 0.1.0 */
export type { AssignmentRecord, Attempt, AttemptEnd, SentHit } from "./GroundTruth.ts"

/**
 * The running simulator.
 *
 * @since 0.1.0
 */
export class Simulator extends Context.Service<
  Simulator,
  {
    /** `http://127.0.0.1:PORT` */
    readonly baseUrl: string
    readonly redirectBaseUrl: string
    /** The stream URL of an endpoint (`/api/1/stream/NAME`). */
    readonly streamUrl: (endpoint?: string, apiVersion?: 1 | 2) => string
    readonly tokenUrl: string
    readonly clientId: string
    readonly clientSecret: string
    readonly options: Options
    /** Every stream request so far, in arrival order. */
    readonly log: Effect.Effect<ReadonlyArray<GroundTruth.Attempt>>
    /** The log once every connection's end has reached the server; waits at most 2 s. */
    readonly settledLog: Effect.Effect<ReadonlyArray<GroundTruth.Attempt>>
    /** Every change of a group's assignment, with who held what after it. */
    readonly assignments: Effect.Effect<ReadonlyArray<GroundTruth.AssignmentRecord>>
    /** Every distinct hit that reached a socket, by index. */
    readonly sent: Effect.Effect<ReadonlyArray<GroundTruth.SentHit>>
    /** Every token request, with the status it got. */
    readonly tokenRequests: Effect.Effect<ReadonlyArray<Ims.TokenRequest>>
    /** Revokes every token issued so far: the next stream request with one gets 401. */
    readonly revokeTokens: Effect.Effect<void>
    /** Drops every open stream connection, as a network loss would. */
    readonly dropConnections: Effect.Effect<number>
    /** Replaces the stream scenario; step numbering restarts at the next request. */
    readonly setScenario: (steps: ReadonlyArray<Scenario.Step>) => Effect.Effect<void>
    /** Replaces the token endpoint's scenario; numbering restarts at the next token request. */
    readonly setImsScenario: (steps: ReadonlyArray<Scenario.ImsStep>) => Effect.Effect<void>
  }
>()("@hitstream/simulator/Simulator") {
  /** Starts the simulator's two listeners in the layer's scope. */
  static readonly layer = (options: Partial<Options> = {}): Layer.Layer<Simulator, SimulatorStartError> =>
    Layer.effect(Simulator, make({ ...defaults, ...options }))
}

/**
 * A listener could not start (most often: the port is taken).
 *
 * @since 0.1.0
 */
export class SimulatorStartError extends Schema.TaggedError<SimulatorStartError>()("SimulatorStartError", {
  host: Schema.String,
  port: Schema.Number,
  message: Schema.String
}) {}

interface Endpoint {
  readonly name: string
  readonly disabled: boolean
  readonly group: StreamModel.Group
  readonly rules: StreamModel.Rules
  attempts: number
  v2Enabled: boolean
  startedAt: number | undefined
}

type App = Effect.Effect<HttpServerResponse.HttpServerResponse, never, HttpServerRequest.HttpServerRequest>

const make = Effect.fnUntraced(function* (options: Options) {
  const scope = yield* Effect.scope
  const now = Clock.currentTimeMillis
  const partitionOf = (n: number) => HitGenerator.visitorOf(options.seed, n) % options.partitions
  const traffic: Traffic.Traffic = {
    rate: options.rate,
    bursts: options.bursts,
    total: options.totalHits ?? Number.POSITIVE_INFINITY
  }
  const truth = GroundTruth.make({ ...options, partitionOf })
  const ims = Ims.make({ ...options, scenario: options.imsScenario })
  const endpoints = new Map<string, Endpoint>()
  for (const name of [...options.endpoints, ...options.disabledEndpoints]) {
    const endpoint: Endpoint = {
      name,
      disabled: options.disabledEndpoints.includes(name),
      group: StreamModel.makeGroup(options.partitions),
      rules: {
        ...options,
        partitionOf,
        newest: (at) => Traffic.generated(traffic, at - (endpoint.startedAt ?? at))
      },
      attempts: 0,
      v2Enabled: options.v2Endpoints.includes(name),
      startedAt: undefined
    }
    endpoints.set(name, endpoint)
  }
  const drops = new Map<number, () => void>()
  let scenario = [...options.scenario]
  let scenarioBase = new Map<string, number>()
  let redirectedOnce = false
  let draw = (options.seed ^ 0x5bd1e995) >>> 0 || 1
  const busy503 = () => {
    if (options.graceRejection503Probability <= 0) return false
    draw = Math.imul(draw ^ (draw >>> 15), 0x2c1b3c6d) >>> 0
    return draw / 4294967296 < options.graceRejection503Probability
  }
  // Known once the redirect listener is up, before the main listener takes requests.
  let redirectPort = 0

  const preloaded =
    options.preload && options.totalHits !== undefined
      ? yield* Effect.sync(() => {
          const parts: Array<string> = []
          for (let n = 0; n < options.totalHits!; n++) {
            parts.push(HitGenerator.generate(options.seed, n, 1_764_000_000).text, "\r\n")
          }
          return gzipSync(parts.join(""), { level: options.gzipLevel })
        })
      : undefined

  const tick = (endpoint: Endpoint, at: number) => {
    for (const event of StreamModel.expire(endpoint.group, endpoint.rules, at))
      truth.assigned(endpoint.name, event)
  }

  const serveStream = (listener: "main" | "redirect"): App =>
    Effect.gen(function* () {
      const request = yield* HttpServerRequest.HttpServerRequest
      const nodeRequest = NodeHttpServerRequest.toIncomingMessage(request) as Http.IncomingMessage
      const res = NodeHttpServerRequest.toServerResponse(request) as Http.ServerResponse
      const url = new URL(request.url, "http://simulator")
      const match = /^\/api\/(1|2)\/stream\/([^/]+)$/.exec(url.pathname)
      if (match === null) return Ims.errorBody(404, "not_found", `no such path: ${url.pathname}`)
      const query = Object.fromEntries(url.searchParams.entries())
      const headers = request.headers
      const at = yield* now
      const name = decodeURIComponent(match[2])
      const endpoint = endpoints.get(name)
      if (endpoint !== undefined) {
        endpoint.attempts++
        tick(endpoint, at)
      }
      const attempt: GroundTruth.Attempt = {
        attempt: truth.attempts.length + 1,
        endpoint: name,
        apiVersion: match[1] === "2" || query.beta === "true" ? 2 : 1,
        listener,
        at,
        monotonic: String(yield* Clock.currentTimeNanos),
        query,
        headers: {
          authorization: headers["authorization"] !== undefined,
          apiKey: headers["x-api-key"] !== undefined,
          acceptEncoding: headers["accept-encoding"],
          httpVersion: nodeRequest.httpVersion
        },
        status: 0,
        description: undefined,
        maxConnections: undefined,
        partitions: [],
        assignments: [],
        fromIndex: undefined,
        toIndex: undefined,
        hitsSent: 0,
        duplicatesSent: 0,
        endedAt: undefined,
        end: undefined
      }
      truth.attempts.push(attempt)
      const step =
        endpoint === undefined ? undefined : scenario[endpoint.attempts - (scenarioBase.get(name) ?? 0) - 1]
      const decision = StreamModel.admit(
        {
          method: request.method,
          acceptEncoding: headers["accept-encoding"] ?? "",
          httpVersion: nodeRequest.httpVersion,
          listener,
          authorization: Boolean(headers["authorization"]),
          authError: yield* ims.authorize(headers),
          endpoint: name,
          apiVersion: attempt.apiVersion,
          query,
          step
        },
        {
          at,
          gracePeriod: options.gracePeriod,
          endpoint,
          redirect: options.redirect,
          redirectedOnce,
          noTraffic503: options.rate === 0 && options.noTraffic === "503",
          busy503: busy503()
        }
      )
      if (decision._tag === "Reject") {
        Object.assign(attempt, { status: decision.status, description: decision.description })
        Object.assign(attempt, { end: "rejected", endedAt: at })
        return Ims.errorBody(decision.status, decision.error, decision.description, decision.retryAfter)
      }
      if (decision._tag === "Redirect" || endpoint === undefined) {
        redirectedOnce = true
        Object.assign(attempt, { status: 302, end: "redirected", endedAt: at })
        const target = `http://${options.redirectHost ?? options.host}:${redirectPort}${url.pathname}${url.search}`
        return HttpServerResponse.empty({ status: 302, headers: { location: target } })
      }
      endpoint.startedAt ??= at
      const id = attempt.attempt
      truth.assigned(name, StreamModel.join(endpoint.group, endpoint.rules, id, decision.query, at))
      Object.assign(attempt, { status: 200, maxConnections: decision.query.maxConnections })
      const { smoothing, smoothingBucketSize } = decision.query
      yield* StreamWriter.serve({
        options,
        res,
        attempt,
        member: endpoint.group.members.find((m) => m.id === id)!,
        group: endpoint.group,
        rules: endpoint.rules,
        truth,
        step,
        available: (t) =>
          smoothing
            ? Traffic.smoothed(traffic, t - endpoint.startedAt!, smoothingBucketSize)
            : Traffic.generated(traffic, t - endpoint.startedAt!),
        tick: (t) => tick(endpoint, t),
        now,
        preloaded,
        onDrop: (drop) => drops.set(id, drop)
      }).pipe(
        Effect.onExit(() =>
          Effect.map(now, (endedAt) => {
            drops.delete(id)
            attempt.endedAt = endedAt
            attempt.end ??= "client-closed"
            const event = StreamModel.leave(endpoint.group, id, endedAt)
            if (event !== undefined) truth.assigned(name, event)
          })
        )
      )
      return HttpServerResponse.empty()
    })

  const enable: App = Effect.gen(function* () {
    const request = yield* HttpServerRequest.HttpServerRequest
    const name = decodeURIComponent(new URL(request.url, "http://simulator").pathname.split("/").pop() ?? "")
    const authError = yield* ims.authorize(request.headers)
    if (authError !== undefined) return Ims.errorBody(401, "invalid_token", authError)
    const endpoint = endpoints.get(name)
    if (endpoint === undefined) return Ims.errorBody(404, "not_found", `unknown endpoint ${name}`)
    endpoint.v2Enabled = true
    return HttpServerResponse.jsonUnsafe({
      message: `Stream ${name} is enabled for the current API version. New payloads arrive within 15 minutes.`
    })
  })

  const dropConnections = Effect.sync(() => {
    for (const drop of drops.values()) drop()
    const dropped = drops.size
    drops.clear()
    return dropped
  })
  const setScenario = (steps: ReadonlyArray<Scenario.Step>) =>
    Effect.sync(() => {
      scenario = [...steps]
      scenarioBase = new Map([...endpoints.values()].map((e) => [e.name, e.attempts]))
    })
  const status = Effect.map(now, (at) => ({
    streams: [...endpoints.values()].map((e) => {
      tick(e, at)
      return {
        endpoint: e.name,
        attempts: e.attempts,
        maxConnections: e.group.maxConnections,
        members: e.group.members,
        partitions: e.group.partitions,
        open: e.group.members.filter((m) => m.closedAt === undefined).length
      }
    })
  }))

  const controls: Record<string, App> = {
    "/_sim/log": Effect.map(truth.log, (log) => HttpServerResponse.jsonUnsafe(log)),
    "/_sim/assignments": Effect.sync(() => HttpServerResponse.jsonUnsafe(truth.assignments)),
    "/_sim/sent": Effect.map(truth.sent, (sent) => HttpServerResponse.jsonUnsafe(sent)),
    "/_sim/ims": Effect.map(ims.requests, (requests) => HttpServerResponse.jsonUnsafe(requests)),
    "/_sim/status": Effect.map(status, (s) => HttpServerResponse.jsonUnsafe(s)),
    "/_sim/revoke": Effect.map(ims.revoke, (revoked) => HttpServerResponse.jsonUnsafe({ revoked })),
    "/_sim/drop": Effect.map(dropConnections, (dropped) => HttpServerResponse.jsonUnsafe({ dropped }))
  }

  const app = (listener: "main" | "redirect"): App =>
    Effect.gen(function* () {
      const request = yield* HttpServerRequest.HttpServerRequest
      const path = new URL(request.url, "http://simulator").pathname
      if (path.startsWith("/api/1/stream/") || path.startsWith("/api/2/stream/"))
        return yield* serveStream(listener)
      if (listener === "main" && path === "/ims/token/v3") return yield* ims.token
      if (listener === "main" && path.startsWith("/api/2/enable/")) return yield* enable
      const control = listener === "main" ? controls[path] : undefined
      return control === undefined ? Ims.errorBody(404, "not_found", `no such path: ${path}`) : yield* control
    })

  const listen = Effect.fnUntraced(function* (port: number, listener: "main" | "redirect") {
    const server = yield* NodeHttpServer.make(() => Http.createServer({ keepAliveTimeout: 5_000 }), {
      host: options.host,
      port
    }).pipe(
      Scope.provide(scope),
      Effect.mapError(
        (error) =>
          new SimulatorStartError({
            host: options.host,
            port,
            message: `cannot listen on ${options.host}:${port} (${listener} listener): ${String((error as { cause?: unknown }).cause ?? error)}; choose another port, or 0 for any free one`
          })
      )
    )
    yield* server
      .serve(app(listener))
      .pipe(Scope.provide(scope), Effect.provideService(HttpServer.HttpServer, server))
    const address = server.address
    return address._tag === "UnixPathAddress" ? port : address.port
  })

  redirectPort = yield* listen(options.redirectPort, "redirect")
  const baseUrl = `http://${options.host}:${yield* listen(options.port, "main")}`

  return Simulator.of({
    baseUrl,
    redirectBaseUrl: `http://${options.redirectHost ?? options.host}:${redirectPort}`,
    streamUrl: (endpoint = options.endpoints[0] ?? "demo", apiVersion = 1) =>
      `${baseUrl}/api/${apiVersion}/stream/${encodeURIComponent(endpoint)}`,
    tokenUrl: `${baseUrl}/ims/token/v3`,
    clientId: options.clientId,
    clientSecret: options.clientSecret,
    options,
    log: truth.log,
    settledLog: truth.settledLog,
    assignments: Effect.sync(() => [...truth.assignments]),
    sent: truth.sent,
    tokenRequests: ims.requests,
    revokeTokens: Effect.asVoid(ims.revoke),
    dropConnections,
    setScenario,
    setImsScenario: ims.setScenario
  })
})
