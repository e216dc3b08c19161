/**
 * The stream endpoints: their state (each one's group, its scripted steps), the route that checks
 * a request, admits it to the group and serves its body, the v2 enable call, and `/_sim/drop`.
 *
 * @since 0.1.0
 */
import { NodeHttpServerRequest } from "@effect/platform-node"
import { Clock, Effect } from "effect"
import { HttpServerRequest, HttpServerResponse } from "effect/http"
import type * as Http from "node:http"
import type * as GroundTruth from "./GroundTruth.ts"
import * as Ims from "./Ims.ts"
import type * as Scenario from "./Scenario.ts"
import type { Options } from "./SimulatorOptions.ts"
import * as StreamModel from "./StreamModel.ts"
import * as StreamWriter from "./StreamWriter.ts"
import * as Traffic from "./Traffic.ts"

interface Endpoint {
  readonly name: string
  readonly disabled: boolean
  readonly group: StreamModel.Group
  readonly rules: StreamModel.Rules
  attempts: number
  v2Enabled: boolean
  startedAt: number | undefined
}

/**
 * @since 0.1.0
 */
export type App = Effect.Effect<
  HttpServerResponse.HttpServerResponse,
  never,
  HttpServerRequest.HttpServerRequest
>

/**
 * @since 0.1.0
 */
export const make = Effect.fnUntraced(function* (
  options: Options,
  truth: GroundTruth.GroundTruth,
  ims: Ims.Ims,
  /** The redirect listener's `http://host:port`, known once it listens. */
  redirectBase: () => string
) {
  const now = Clock.currentTimeMillis
  const partitionOf = StreamModel.partitioner(options.seed, options.partitions)
  const traffic: Traffic.Traffic = {
    rate: options.rate,
    bursts: options.bursts,
    total: options.totalHits ?? Number.POSITIVE_INFINITY
  }
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

  const preloaded = yield* Effect.sync(() => StreamWriter.preload(options))

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
      const attempt = truth.begin({
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
        }
      })
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
        const target = `${redirectBase()}${url.pathname}${url.search}`
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

  return {
    serve: serveStream,
    enable,
    dropConnections,
    setScenario,
    status
  }
})
