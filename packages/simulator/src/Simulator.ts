/**
 * A Live Stream simulator: a real HTTP/1.1 server on loopback that behaves like Adobe's. This
 * module is the service, its routes and its listeners; each behaviour has its own home:
 *
 * - `SimulatorOptions`: the settings and their defaults;
 * - `Ims`: the token endpoint, its faults, and the token checks;
 * - `StreamModel`: the vendor's rules, pure (the consumer group, partitions, the grace period,
 *   start positions, the checks in the vendor's order);
 * - `Traffic`: how many hits exist, and what smoothing releases;
 * - `Streams`: the stream endpoints' state and route (check, admit, serve);
 * - `StreamWriter`: a 200 body (pacing, gzip, chunk cutting, faults, preload);
 * - `GroundTruth`: the attempt log, the assignments over time, the hits sent.
 *
 * @since 0.1.0
 */
import { NodeHttpServer } from "@effect/platform-node"
import { Context, Effect, Layer, Schema, Scope } from "effect"
import { HttpServer, HttpServerRequest, HttpServerResponse } from "effect/http"
import * as Http from "node:http"
import * as Https from "node:https"
import * as GroundTruth from "./GroundTruth.ts"
import * as Ims from "./Ims.ts"
import type * as Scenario from "./Scenario.ts"
import { defaults, type Options } from "./SimulatorOptions.ts"
import * as StreamModel from "./StreamModel.ts"
import * as Streams from "./Streams.ts"

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
    /** `http://127.0.0.1:PORT`, `https://` with `tls`, `http://[::1]:PORT` on IPv6 */
    readonly baseUrl: string
    readonly redirectBaseUrl: string
    /** The stream URL of an endpoint (`/api/1/stream/NAME`; the first endpoint by default). */
    readonly streamUrl: (endpoint?: string, apiVersion?: 1 | 2) => string
    /** The IMS token URL (`/ims/token/v3`), the client's `tokenUrl`. */
    readonly tokenUrl: () => string
    /** The client id the token endpoint accepts (`options.clientId`). */
    readonly clientId: string
    /** The client secret the token endpoint accepts (`options.clientSecret`). */
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
>()("@hitstream/simulator/Simulator") {}

/**
 * Starts the simulator's two listeners (main and redirect) on free loopback ports, unless
 * `options` says otherwise, for the layer's lifetime.
 *
 * @since 0.1.0
 */
export const layer = (options: Partial<Options> = {}): Layer.Layer<Simulator, SimulatorStartError> =>
  Layer.effect(Simulator, make({ ...defaults, ...options }))

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

// An IPv6 literal goes in brackets in a URL.
const urlHost = (host: string) => (host.includes(":") && !host.startsWith("[") ? `[${host}]` : host)

const make = Effect.fnUntraced(function* (options: Options) {
  const scope = yield* Effect.scope
  const partitionOf = StreamModel.partitioner(options.seed, options.partitions)
  const truth = GroundTruth.make({ ...options, partitionOf })
  const ims = Ims.make({ ...options, scenario: options.imsScenario })
  const scheme = options.tls === undefined ? "http" : "https"
  // Known once the redirect listener is up, before the main listener takes requests.
  let redirectPort = 0
  const streams = yield* Streams.make(
    options,
    truth,
    ims,
    () => `${scheme}://${urlHost(options.redirectHost ?? options.host)}:${redirectPort}`
  )

  const controls: Record<string, Streams.App> = {
    "/_sim/log": Effect.map(truth.log, (log) => HttpServerResponse.jsonUnsafe(log)),
    "/_sim/assignments": Effect.sync(() => HttpServerResponse.jsonUnsafe(truth.assignments)),
    "/_sim/sent": Effect.map(truth.sent, (sent) => HttpServerResponse.jsonUnsafe(sent)),
    "/_sim/ims": Effect.map(ims.requests, (requests) => HttpServerResponse.jsonUnsafe(requests)),
    "/_sim/status": Effect.map(streams.status, (s) => HttpServerResponse.jsonUnsafe(s)),
    "/_sim/revoke": Effect.map(ims.revoke, (revoked) => HttpServerResponse.jsonUnsafe({ revoked })),
    "/_sim/drop": Effect.map(streams.dropConnections, (dropped) => HttpServerResponse.jsonUnsafe({ dropped }))
  }

  const app = (listener: "main" | "redirect"): Streams.App =>
    Effect.gen(function* () {
      const request = yield* HttpServerRequest.HttpServerRequest
      const path = new URL(request.url, "http://simulator").pathname
      if (path.startsWith("/api/1/stream/") || path.startsWith("/api/2/stream/"))
        return yield* streams.serve(listener)
      if (listener === "main" && path === "/ims/token/v3") return yield* ims.token
      if (listener === "main" && path.startsWith("/api/2/enable/")) return yield* streams.enable
      const control = listener === "main" ? controls[path] : undefined
      return control === undefined ? Ims.errorBody(404, "not_found", `no such path: ${path}`) : yield* control
    })

  const listen = Effect.fnUntraced(function* (port: number, listener: "main" | "redirect") {
    // An https.Server takes the same requests; NodeHttpServer types only the plain one.
    const create = () =>
      options.tls === undefined
        ? Http.createServer({ keepAliveTimeout: 5_000 })
        : (Https.createServer({ ...options.tls, keepAliveTimeout: 5_000 }) as unknown as Http.Server)
    const server = yield* NodeHttpServer.make(create, {
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
  const baseUrl = `${scheme}://${urlHost(options.host)}:${yield* listen(options.port, "main")}`

  return Simulator.of({
    baseUrl,
    redirectBaseUrl: `${scheme}://${urlHost(options.redirectHost ?? options.host)}:${redirectPort}`,
    streamUrl: (endpoint = options.endpoints[0] ?? "demo", apiVersion = 1) =>
      `${baseUrl}/api/${apiVersion}/stream/${encodeURIComponent(endpoint)}`,
    tokenUrl: () => `${baseUrl}/ims/token/v3`,
    clientId: options.clientId,
    clientSecret: options.clientSecret,
    options,
    log: truth.log,
    settledLog: truth.settledLog,
    assignments: Effect.sync(() => [...truth.assignments]),
    sent: truth.sent,
    tokenRequests: ims.requests,
    revokeTokens: Effect.asVoid(ims.revoke),
    dropConnections: streams.dropConnections,
    setScenario: streams.setScenario,
    setImsScenario: ims.setScenario
  })
})
