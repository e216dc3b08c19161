/**
 * A Live Stream simulator: a real HTTP/1.1 server on loopback that behaves like Adobe's.
 *
 * It serves the token endpoint (an Adobe IMS stand-in), the stream endpoints with the vendor's
 * checks in the vendor's order, gzip + chunked bodies of CRLF-separated records cut at random
 * byte positions, `maxConnections` partitioning by visitor, the load balancer's blindness (a
 * dropped connection still counts as open for a grace period: the reason for the 60-second
 * rule), backfill with duplicates, `reset`, smoothing, redirects to a second listener, scripted
 * faults, and a ground-truth log of every attempt and every hit sent.
 *
 * Streaming responses are written to Node's `ServerResponse` directly: a simulator must be able
 * to drop a socket mid-chunk or end a body mid-gzip, which a well-behaved response body cannot.
 *
 * @since 0.1.0
 */
import { NodeHttpServer, NodeHttpServerRequest } from "@effect/platform-node"
import { Clock, Context, Effect, Layer, Schema, Scope } from "effect"
import { HttpServer, HttpServerRequest, HttpServerResponse } from "effect/http"
import { randomBytes } from "node:crypto"
import * as Http from "node:http"
import type * as Net from "node:net"
import { constants, createGzip, type Gzip, gzipSync } from "node:zlib"
import * as HitGenerator from "./HitGenerator.ts"
import type * as Scenario from "./Scenario.ts"

/**
 * The simulator's settings. Every duration is in milliseconds.
 *
 * @since 0.1.0
 */
export interface Options {
  readonly host: string
  readonly port: number
  /** The redirect listener's port (0: any free port). */
  readonly redirectPort: number
  /** The host name written into redirect `Location`s, e.g. `localhost` where clients use 127.0.0.1. */
  readonly redirectHost: string | undefined
  /** When the main listener redirects stream requests: never, the first request only, or always. */
  readonly redirect: "never" | "first" | "always"
  readonly seed: number
  /** Hits generated per second; `Infinity` generates as fast as the client reads; 0 means no traffic. */
  readonly rate: number
  /** Stop generating after this many hits (the stream stays open and quiet). */
  readonly totalHits: number | undefined
  /** With no traffic: answer 503 at connect (the older docs) or keep an open, silent stream. */
  readonly noTraffic: "503" | "silent"
  /** Probability of an extra empty record after a record. */
  readonly emptyRecordRate: number
  /**
   * The deflate level, 1 (fastest) to 9. The level changes nothing a client can observe but the
   * compression ratio; level 1 lets one core push well over 50,000 hits/s for the benchmarks.
   */
  readonly gzipLevel: number
  /** The largest chunk written at once; chunk sizes are drawn from 1 to this. */
  readonly maxChunkSize: number
  readonly endpoints: ReadonlyArray<string>
  /** Endpoints that answer 404 as streams disabled after 90 days without a client. */
  readonly disabledEndpoints: ReadonlyArray<string>
  /** Endpoints already enabled for the current API version (`/api/2`). */
  readonly v2Endpoints: ReadonlyArray<string>
  readonly clientId: string
  readonly clientSecret: string
  readonly tokenLifetimeSeconds: number
  /** How long the load balancer keeps counting a dropped connection as open. */
  readonly gracePeriod: number
  /** Probability that a connection refused during the grace period gets 503 instead of 409. */
  readonly graceRejection503Probability: number
  /** A reconnect within this long after a disconnect resumes where the last one stopped. */
  readonly backfillWindow: number
  /** Hits re-sent on such a resume: the duplicates real clients see. */
  readonly backfillDuplicates: number
  readonly scenario: ReadonlyArray<Scenario.Step>
  /**
   * Compress the first `totalHits` hits once, at start, and serve each single-partition stream
   * from that buffer (then end it cleanly): for benchmarks, so that what is measured is the
   * client, not the simulator's per-hit generation. Scenarios and partitions do not apply.
   */
  readonly preload: boolean
  /** Keep every hit index sent, for `/_sim/sent`; the benchmarks turn it off. */
  readonly recordSent: boolean
}

/**
 * @since 0.1.0
 */
export const defaults: Options = {
  host: "127.0.0.1",
  port: 0,
  redirectPort: 0,
  redirectHost: undefined,
  redirect: "never",
  seed: 1,
  rate: 200,
  totalHits: undefined,
  noTraffic: "silent",
  emptyRecordRate: 0.01,
  gzipLevel: 1,
  maxChunkSize: 16_384,
  endpoints: ["demo"],
  disabledEndpoints: [],
  v2Endpoints: [],
  clientId: "hitstream-demo",
  clientSecret: "demo-secret",
  tokenLifetimeSeconds: 86_399,
  gracePeriod: 30_000,
  graceRejection503Probability: 0,
  backfillWindow: 300_000,
  backfillDuplicates: 5,
  scenario: [],
  preload: false,
  recordSent: true
}

/**
 * How an attempt ended, from the server's side.
 *
 * @since 0.1.0
 */
export type AttemptEnd =
  | "rejected"
  | "redirected"
  | "client-closed"
  | "dropped"
  | "ended"
  | "truncated"
  | "garbage"
  | "server-closed"

/**
 * One request to a stream endpoint, as the simulator saw and answered it.
 *
 * @since 0.1.0
 */
export interface Attempt {
  readonly attempt: number
  readonly endpoint: string
  readonly apiVersion: 1 | 2
  readonly listener: "main" | "redirect"
  /** Wall-clock milliseconds when the request arrived. */
  readonly at: number
  /** Monotonic nanoseconds when the request arrived, for spacing checks. */
  readonly monotonic: string
  readonly query: Record<string, string>
  readonly headers: {
    readonly authorization: boolean
    readonly apiKey: boolean
    readonly acceptEncoding: string | undefined
    readonly httpVersion: string
  }
  status: number
  description: string | undefined
  partition: number | undefined
  maxConnections: number | undefined
  /** Global hit indexes sent, as [from, to) ranges filtered by the partition. */
  fromIndex: number | undefined
  toIndex: number | undefined
  hitsSent: number
  duplicatesSent: number
  endedAt: number | undefined
  end: AttemptEnd | undefined
}

/**
 * A hit the simulator sent at least once.
 *
 * @since 0.1.0
 */
export interface SentHit {
  readonly index: number
  readonly hitIdHigh: string
  readonly hitIdLow: string
}

interface Connection {
  readonly attempt: Attempt
  readonly partition: number
  readonly maxConnections: number
  closedAt: number | undefined
  drop: (() => void) | undefined
}

interface StreamState {
  readonly name: string
  attempts: number
  startedAt: number | undefined
  maxConnections: number | undefined
  /** Per partition: hits below this index have been sent. */
  positions: Array<number>
  lastDisconnect: Array<number | undefined>
  connections: Array<Connection>
  v2Enabled: boolean
}

interface TokenState {
  readonly clientId: string
  readonly expiresAt: number
  revoked: boolean
}

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
    readonly log: Effect.Effect<ReadonlyArray<Attempt>>
    /**
     * The log once every connection's end has reached the server (a client's close arrives a
     * moment after the client saw its last byte); waits at most 2 s.
     */
    readonly settledLog: Effect.Effect<ReadonlyArray<Attempt>>
    /** Every distinct hit sent so far, by index. */
    readonly sent: Effect.Effect<ReadonlyArray<SentHit>>
    /** Revokes every token issued so far: the next stream request with one gets 401. */
    readonly revokeTokens: Effect.Effect<void>
    /** Drops every open stream connection, as a network loss would. */
    readonly dropConnections: Effect.Effect<number>
    /** Replaces the scenario; step numbering restarts at the next request. */
    readonly setScenario: (steps: ReadonlyArray<Scenario.Step>) => Effect.Effect<void>
  }
>()("@hitstream/simulator/Simulator") {
  /**
   * Starts the simulator's two listeners in the layer's scope.
   */
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

const json = (status: number, body: unknown) => HttpServerResponse.jsonUnsafe(body, { status })

const errorBody = (status: number, error: string, description: string) =>
  json(status, { error, error_description: description })

// A PRNG for chunk sizes and empty records: deterministic per attempt, independent of timing.
const prng = (seed: number) => {
  let state = seed >>> 0 || 1
  return () => {
    state ^= state << 13
    state ^= state >>> 17
    state ^= state << 5
    return (state >>> 0) / 4294967296
  }
}

const parseQuery = (url: URL): Record<string, string> => Object.fromEntries(url.searchParams.entries())

type QueryCheck =
  | { readonly maxConnections: number; readonly reset: "smallest" | "largest" | undefined }
  | string

const checkQuery = (query: Record<string, string>): QueryCheck => {
  const max = query.maxConnections ?? "1"
  const maxConnections = Number(max)
  if (!/^\d+$/.test(max) || maxConnections < 1 || maxConnections > 8) {
    return `maxConnections must be an integer from 1 to 8, got ${JSON.stringify(max)}`
  }
  const r = query.reset
  const reset =
    r === undefined
      ? undefined
      : r === "smallest" || r === "earliest"
        ? "smallest"
        : r === "largest" || r === "latest"
          ? "largest"
          : null
  if (reset === null) return `reset must be smallest, largest, earliest or latest, got ${JSON.stringify(r)}`
  if (query.smoothing !== undefined && query.smoothing !== "1" && query.smoothing !== "0") {
    return `smoothing must be 1, got ${JSON.stringify(query.smoothing)}`
  }
  const bucket = query.smoothingBucketSize
  if (bucket !== undefined && (!/^\d+$/.test(bucket) || Number(bucket) < 1 || Number(bucket) > 7200)) {
    return `smoothingBucketSize must be an integer from 1 to 7200, got ${JSON.stringify(bucket)}`
  }
  return { maxConnections, reset }
}

const make = Effect.fnUntraced(function* (options: Options) {
  const scope = yield* Effect.scope
  const streams = new Map<string, StreamState>()
  for (const name of [...options.endpoints, ...options.disabledEndpoints]) {
    streams.set(name, {
      name,
      attempts: 0,
      startedAt: undefined,
      maxConnections: undefined,
      positions: [],
      lastDisconnect: [],
      connections: [],
      v2Enabled: options.v2Endpoints.includes(name)
    })
  }
  const tokens = new Map<string, TokenState>()
  const log: Array<Attempt> = []
  const sentIndexes = new Set<number>()
  let scenario = [...options.scenario]
  let scenarioBase = new Map<string, number>()
  let redirectedOnce = false
  const graceRandom = prng(options.seed ^ 0x5bd1e995)
  // Known once the redirect listener is up, before the main listener takes requests.
  let redirectPort = 0

  const now = Clock.currentTimeMillis

  const preloaded =
    options.preload && options.totalHits !== undefined
      ? yield* Effect.sync(() => {
          const timeGMT = 1_764_000_000
          const parts: Array<string> = []
          for (let n = 0; n < options.totalHits!; n++) {
            parts.push(HitGenerator.generate(options.seed, n, timeGMT).text, "\r\n")
          }
          return gzipSync(parts.join(""), { level: options.gzipLevel })
        })
      : undefined

  // --- the token endpoint -------------------------------------------------------------------

  const token = Effect.gen(function* () {
    const request = yield* HttpServerRequest.HttpServerRequest
    if (request.method !== "POST") return errorBody(405, "method_not_allowed", "use POST")
    const text = yield* Effect.orElseSucceed(request.text, () => "")
    const form = new URLSearchParams(text)
    if (form.get("grant_type") !== "client_credentials") {
      return errorBody(400, "unsupported_grant_type", "grant_type must be client_credentials")
    }
    const clientId = form.get("client_id")
    if (!clientId) return errorBody(400, "invalid_request", "missing client_id")
    if (clientId !== options.clientId) return errorBody(400, "invalid_client", "invalid client_id parameter")
    if (form.get("client_secret") !== options.clientSecret) {
      return errorBody(401, "invalid_client", "invalid client_secret parameter")
    }
    const issuedAt = yield* now
    const accessToken = `sim.${randomBytes(24).toString("base64url")}`
    tokens.set(accessToken, {
      clientId,
      expiresAt: issuedAt + options.tokenLifetimeSeconds * 1000,
      revoked: false
    })
    return json(200, {
      access_token: accessToken,
      token_type: "bearer",
      expires_in: options.tokenLifetimeSeconds
    })
  })

  const authorize = Effect.fnUntraced(function* (headers: Record<string, string | undefined>) {
    const auth = headers["authorization"]
    if (!auth?.startsWith("Bearer ")) return "missing bearer token"
    const apiKey = headers["x-api-key"]
    if (!apiKey) return "missing x-api-key header"
    const state = tokens.get(auth.slice(7))
    if (state === undefined) return "invalid token"
    if (state.revoked) return "token revoked"
    if ((yield* now) >= state.expiresAt) return "token expired"
    if (state.clientId !== apiKey) return "x-api-key does not match the token's client"
    return undefined
  })

  // --- the stream endpoint ------------------------------------------------------------------

  const openCount = (stream: StreamState, at: number) =>
    stream.connections.filter((c) => c.closedAt === undefined || at - c.closedAt < options.gracePeriod).length

  const freePartition = (stream: StreamState, at: number, maxConnections: number) => {
    const taken = new Set(
      stream.connections
        .filter((c) => c.closedAt === undefined || at - c.closedAt < options.gracePeriod)
        .map((c) => c.partition)
    )
    for (let p = 0; p < maxConnections; p++) if (!taken.has(p)) return p
    return -1
  }

  const inPartition = (n: number, partition: number, maxConnections: number) =>
    maxConnections === 1 || HitGenerator.visitorOf(options.seed, n) % maxConnections === partition

  // The hits generated by `at`, counted from the stream's first connection.
  const generated = (stream: StreamState, at: number) => {
    const total = options.totalHits ?? Number.POSITIVE_INFINITY
    if (options.rate === Number.POSITIVE_INFINITY) return total
    return Math.min(total, Math.floor(((at - (stream.startedAt ?? at)) * options.rate) / 1000))
  }

  const startPosition = (
    stream: StreamState,
    partition: number,
    reset: "smallest" | "largest" | undefined,
    at: number
  ): { start: number; duplicates: number } => {
    const position = stream.positions[partition] ?? 0
    if (reset === "smallest") return { start: 0, duplicates: 0 }
    const newest = Math.min(generated(stream, at), Number.MAX_SAFE_INTEGER)
    if (reset === "largest") return { start: Math.max(position, newest), duplicates: 0 }
    const last = stream.lastDisconnect[partition]
    if (last !== undefined && at - last > options.backfillWindow) {
      // Past the backfill window, what was generated meanwhile is gone.
      return { start: Math.max(position, newest), duplicates: 0 }
    }
    // Resume from the point of disconnection, re-sending the last few hits it had sent.
    let start = position
    let duplicates = 0
    // Only a resume re-sends: a partition's first connection has nothing to repeat.
    const wanted = last === undefined ? 0 : options.backfillDuplicates
    while (start > 0 && duplicates < wanted) {
      start--
      if (inPartition(start, partition, stream.maxConnections ?? 1)) duplicates++
    }
    return { start, duplicates }
  }

  const scriptedStep = (stream: StreamState): Scenario.Step | undefined => {
    const base = scenarioBase.get(stream.name) ?? 0
    return scenario[stream.attempts - base - 1]
  }

  const serveStream = (
    listener: "main" | "redirect"
  ): Effect.Effect<HttpServerResponse.HttpServerResponse, never, HttpServerRequest.HttpServerRequest> =>
    Effect.gen(function* () {
      const request = yield* HttpServerRequest.HttpServerRequest
      const nodeRequest = NodeHttpServerRequest.toIncomingMessage(request) as Http.IncomingMessage
      const nodeResponse = NodeHttpServerRequest.toServerResponse(request) as Http.ServerResponse
      const url = new URL(request.url, "http://simulator")
      const match = /^\/api\/(1|2)\/stream\/([^/]+)$/.exec(url.pathname)
      if (match === null) return errorBody(404, "not_found", `no such path: ${url.pathname}`)
      const query = parseQuery(url)
      const apiVersion: 1 | 2 = match[1] === "2" || query.beta === "true" ? 2 : 1
      const name = decodeURIComponent(match[2])
      const headers = request.headers
      const at = yield* now
      const stream = streams.get(name)
      if (stream !== undefined) stream.attempts++
      const attempt: Attempt = {
        attempt: log.length + 1,
        endpoint: name,
        apiVersion,
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
        partition: undefined,
        maxConnections: undefined,
        fromIndex: undefined,
        toIndex: undefined,
        hitsSent: 0,
        duplicatesSent: 0,
        endedAt: undefined,
        end: undefined
      }
      log.push(attempt)
      const reject = (status: number, error: string, description: string) => {
        attempt.status = status
        attempt.description = description
        attempt.end = "rejected"
        attempt.endedAt = at
        return errorBody(status, error, description)
      }

      // The vendor's checks, in the vendor's order.
      if (request.method !== "GET") return reject(405, "method_not_allowed", "Live Stream accepts GET only")
      const acceptEncoding = headers["accept-encoding"] ?? ""
      if (!/(^|[\s,])gzip\b/i.test(acceptEncoding)) {
        return reject(406, "not_acceptable", "Accept-Encoding must include gzip")
      }
      if (nodeRequest.httpVersion !== "1.1") {
        return reject(505, "http_version_not_supported", "Live Stream accepts HTTP/1.1 only")
      }
      const step = stream === undefined ? undefined : scriptedStep(stream)
      if (listener === "redirect" && !headers["authorization"]) {
        return reject(401, "invalid_token", "the redirect target needs Authorization again")
      }
      const authError = yield* authorize(headers)
      if (authError !== undefined) return reject(401, "invalid_token", authError)
      if (step?.status === 401) return reject(401, "invalid_token", step.description ?? "scripted 401")
      if (stream === undefined) return reject(404, "not_found", `unknown endpoint ${name}`)
      if (options.disabledEndpoints.includes(name)) {
        return reject(404, "not_found", `stream ${name} was disabled after 90 days without a client`)
      }
      if (apiVersion === 2 && !stream.v2Enabled) {
        return reject(
          424,
          "failed_dependency",
          `stream ${name} is not enabled for the current API version; GET /api/2/enable/${name} to enable it`
        )
      }
      const checked = checkQuery(query)
      if (typeof checked === "string") return reject(400, "bad_request", checked)
      if (step !== undefined && step.status !== undefined && step.status !== 200 && step.status !== 302) {
        return reject(step.status, "scripted", step.description ?? `scripted ${step.status}`)
      }
      const redirectNow =
        listener === "main" &&
        (step?.status === 302 ||
          options.redirect === "always" ||
          (options.redirect === "first" && !redirectedOnce))
      if (redirectNow) {
        redirectedOnce = true
        attempt.status = 302
        attempt.end = "redirected"
        attempt.endedAt = at
        const host = options.redirectHost ?? options.host
        const target = `http://${host}:${redirectPort}${url.pathname}${url.search}`
        return HttpServerResponse.empty({ status: 302, headers: { location: target } })
      }
      const { maxConnections, reset } = checked
      const open = openCount(stream, at)
      if (open > 0 && stream.maxConnections !== undefined && stream.maxConnections !== maxConnections) {
        return reject(
          409,
          "conflict",
          `clients disagree on maxConnections: ${stream.maxConnections} is in use, this client sent ${maxConnections}`
        )
      }
      if (open >= maxConnections) {
        const ghosts = stream.connections.filter(
          (c) => c.closedAt !== undefined && at - c.closedAt < options.gracePeriod
        )
        if (ghosts.length > 0 && graceRandom() < options.graceRejection503Probability) {
          return reject(503, "service_unavailable", "stream busy, retry later")
        }
        return reject(
          409,
          "conflict",
          `more clients than maxConnections=${maxConnections}` +
            (ghosts.length > 0 ? " (a recently dropped connection still counts as open)" : "")
        )
      }
      if (options.rate === 0 && options.noTraffic === "503") {
        return reject(503, "service_unavailable", `no hits arriving for endpoint ${name}`)
      }
      if (stream.maxConnections !== maxConnections) {
        // A new partitioning: every partition resumes from the least advanced position.
        const least = stream.positions.length > 0 ? Math.min(...stream.positions) : 0
        stream.positions = Array.from({ length: maxConnections }, () => least)
        stream.lastDisconnect = Array.from({ length: maxConnections }, () => undefined)
        stream.maxConnections = maxConnections
      }
      stream.startedAt ??= at
      const partition = freePartition(stream, at, maxConnections)
      const { start, duplicates } = startPosition(stream, partition, reset, at)
      attempt.status = 200
      attempt.partition = partition
      attempt.maxConnections = maxConnections
      attempt.fromIndex = start
      attempt.toIndex = start
      attempt.duplicatesSent = duplicates
      const connection: Connection = {
        attempt,
        partition,
        maxConnections,
        closedAt: undefined,
        drop: undefined
      }
      stream.connections.push(connection)
      const body =
        preloaded !== undefined && maxConnections === 1 && step === undefined
          ? servePreloaded(connection, nodeResponse, preloaded)
          : streamBody(stream, connection, nodeResponse, start, step, query.smoothing === "1")
      yield* body.pipe(
        Effect.onExit(() =>
          Effect.gen(function* () {
            const endedAt = yield* now
            connection.closedAt = endedAt
            attempt.endedAt = endedAt
            attempt.end ??= "client-closed"
            stream.lastDisconnect[partition] = endedAt
            // Forget connections whose grace period is long over.
            stream.connections = stream.connections.filter(
              (c) => c.closedAt === undefined || endedAt - c.closedAt < options.gracePeriod * 2
            )
          })
        )
      )
      return HttpServerResponse.empty()
    })

  const servePreloaded = (connection: Connection, res: Http.ServerResponse, body: Buffer) =>
    Effect.callback<void>((resume) => {
      res.writeHead(200, {
        "content-type": "application/json",
        "content-encoding": "gzip",
        "transfer-encoding": "chunked"
      })
      let offset = 0
      const pump = () => {
        while (offset < body.length) {
          const end = Math.min(body.length, offset + options.maxChunkSize)
          const ok = res.write(body.subarray(offset, end))
          offset = end
          if (!ok) return void res.once("drain", pump)
        }
        connection.attempt.hitsSent = options.totalHits ?? 0
        connection.attempt.toIndex = options.totalHits
        connection.attempt.end = "ended"
        res.end()
      }
      res.once("close", () => resume(Effect.void))
      pump()
    })

  const streamBody = (
    stream: StreamState,
    connection: Connection,
    res: Http.ServerResponse,
    start: number,
    step: Scenario.Step | undefined,
    smoothing: boolean
  ) =>
    Effect.suspend(() => {
      const { attempt, partition, maxConnections } = connection
      const random = prng(options.seed ^ Math.imul(attempt.attempt, 0x9e3779b1))
      const gzip: Gzip = createGzip({ level: options.gzipLevel })
      const socket = res.socket as Net.Socket
      const faultAfter = step?.fault !== undefined ? (step.after ?? 0) : Number.POSITIVE_INFINITY
      let position = start
      let sentInAttempt = 0

      res.writeHead(200, {
        "content-type": "application/json",
        "content-encoding": "gzip",
        "transfer-encoding": "chunked",
        connection: "keep-alive"
      })
      res.flushHeaders()

      // Writes compressed bytes cut at random positions, so chunk boundaries fall anywhere:
      // mid-record, mid-CRLF, mid-UTF-8 character. False when the socket wants a drain.
      const writeCut = (bytes: Uint8Array): boolean => {
        let ok = true
        let offset = 0
        while (offset < bytes.length) {
          const size = 1 + Math.floor(random() * options.maxChunkSize)
          ok = res.write(bytes.subarray(offset, offset + size)) && ok
          offset += size
        }
        return ok
      }
      // Deflate runs on libuv's thread pool: the next batch is generated while the previous one
      // compresses (two in flight), instead of the event loop idling on each flush.
      let output: Array<Buffer> = []
      gzip.on("data", (chunk: Buffer) => output.push(chunk))
      const takeOutput = () => {
        const bytes = output.length === 1 ? output[0] : Buffer.concat(output)
        output = []
        return bytes
      }
      let inFlight = 0
      let needDrain = false
      let wake: (() => void) | undefined
      const signal = () => {
        const w = wake
        wake = undefined
        w?.()
      }
      const nextEvent = Effect.callback<void>((resume) => {
        wake = () => resume(Effect.void)
      })
      res.on("drain", () => {
        needDrain = false
        signal()
      })
      const submit = (text: string, onWritten: () => void) => {
        inFlight++
        gzip.write(text)
        gzip.flush(constants.Z_SYNC_FLUSH, () => {
          inFlight--
          if (!writeCut(takeOutput())) needDrain = true
          onWritten()
          signal()
        })
      }
      const compress = (text: string, flush: number) =>
        Effect.callback<Uint8Array>((resume) => {
          if (flush === constants.Z_FINISH) {
            gzip.once("end", () => resume(Effect.succeed(takeOutput())))
            gzip.end(text)
          } else {
            gzip.write(text)
            gzip.flush(flush, () => resume(Effect.succeed(takeOutput())))
          }
        })
      const closed = Effect.callback<void>((resume) => {
        if (res.destroyed || res.writableFinished) return resume(Effect.void)
        res.once("close", () => resume(Effect.void))
      })
      const stop = (end: AttemptEnd, how: () => void) =>
        Effect.sync(() => {
          attempt.end = end
          how()
        }).pipe(Effect.andThen(closed))

      const fault = (kind: Scenario.Fault): Effect.Effect<void> => {
        switch (kind) {
          case "drop":
            // Whatever was written still reaches the client; the chunked body never ends.
            return stop("dropped", () => socket.end())
          case "end":
            return Effect.flatMap(compress("", constants.Z_FINISH), (tail) =>
              stop("ended", () => {
                writeCut(tail)
                res.end()
              })
            )
          case "truncate":
            // A flush point, then half a block: the gzip stream stops mid-way, the HTTP body ends.
            return Effect.flatMap(compress('{"pageName":"cut', constants.Z_FULL_FLUSH), (tail) =>
              stop("truncated", () => {
                writeCut(tail.subarray(0, Math.max(1, tail.length >> 1)))
                res.end()
              })
            )
          case "garbage":
            return stop("garbage", () => {
              writeCut(randomBytes(512))
              socket.end()
            })
          case "stall":
            return step?.stallFor === undefined ? Effect.never : Effect.sleep(step.stallFor)
        }
      }

      const pump = Effect.gen(function* () {
        let faultDone = false
        let submitted = 0
        while (true) {
          if (!faultDone && submitted >= faultAfter && step?.fault !== undefined) {
            // A fault comes after every hit before it has reached the socket.
            if (inFlight > 0) {
              yield* nextEvent
              continue
            }
            faultDone = true
            yield* fault(step.fault)
            continue
          }
          if (inFlight >= 2 || needDrain) {
            yield* nextEvent
            continue
          }
          const at = yield* now
          const available = generated(stream, at)
          const perTurn = smoothing
            ? Math.max(1, Math.ceil(options.rate === Number.POSITIVE_INFINITY ? 64 : options.rate / 10))
            : 256
          const budget = Math.min(faultDone ? Number.POSITIVE_INFINITY : faultAfter - submitted, perTurn)
          let text = ""
          let count = 0
          let n = position
          while (n < available && count < budget && n - position < 65_536) {
            if (inPartition(n, partition, maxConnections)) {
              text += HitGenerator.generate(options.seed, n, Math.floor(at / 1000)).text + "\r\n"
              if (options.emptyRecordRate > 0 && random() < options.emptyRecordRate) text += "\r\n"
              count++
            }
            n++
          }
          if (n === position) {
            if (inFlight > 0) {
              yield* nextEvent
              continue
            }
            // Nothing new: wait for the next hit to be generated, or idle once the supply is over.
            const finite = options.rate > 0 && options.rate !== Number.POSITIVE_INFINITY
            const supplied = generated(stream, at) >= (options.totalHits ?? Number.POSITIVE_INFINITY)
            const wait =
              finite && !supplied
                ? Math.max(
                    5,
                    Math.ceil(((position + 1) * 1000) / options.rate - (at - (stream.startedAt ?? at)))
                  )
                : 250
            yield* Effect.sleep(wait)
            continue
          }
          const from = position
          const to = n
          position = n
          submitted += count
          submit(text, () => {
            if (options.recordSent) {
              for (let i = from; i < to; i++)
                if (inPartition(i, partition, maxConnections)) sentIndexes.add(i)
            }
            sentInAttempt += count
            attempt.hitsSent += count
            attempt.toIndex = to
            stream.positions[partition] = Math.max(stream.positions[partition] ?? 0, to)
          })
          if (smoothing) yield* Effect.sleep(100)
          else if (count < budget) yield* Effect.sleep(5)
          else yield* Effect.yieldNow
        }
      })

      connection.drop = () => {
        attempt.end ??= "dropped"
        socket.end()
      }
      return Effect.raceFirst(pump, closed).pipe(Effect.ensuring(Effect.sync(() => gzip.destroy())))
    })

  // --- enable and control ---------------------------------------------------------------------

  const enable = Effect.gen(function* () {
    const request = yield* HttpServerRequest.HttpServerRequest
    const name = decodeURIComponent(new URL(request.url, "http://simulator").pathname.split("/").pop() ?? "")
    const authError = yield* authorize(request.headers)
    if (authError !== undefined) return errorBody(401, "invalid_token", authError)
    const stream = streams.get(name)
    if (stream === undefined) return errorBody(404, "not_found", `unknown endpoint ${name}`)
    stream.v2Enabled = true
    return json(200, {
      message: `Stream ${name} is enabled for the current API version. New payloads arrive within 15 minutes.`
    })
  })

  const sent = Effect.sync(
    (): ReadonlyArray<SentHit> =>
      [...sentIndexes]
        .sort((a, b) => a - b)
        .map((index) => ({ index, ...HitGenerator.idsOf(options.seed, index) }))
  )

  const dropConnections = Effect.sync(() => {
    let dropped = 0
    for (const stream of streams.values()) {
      for (const c of stream.connections) {
        if (c.closedAt === undefined && c.drop !== undefined) {
          c.drop()
          dropped++
        }
      }
    }
    return dropped
  })

  const revokeTokens = Effect.sync(() => {
    for (const t of tokens.values()) t.revoked = true
  })

  const setScenario = (steps: ReadonlyArray<Scenario.Step>) =>
    Effect.sync(() => {
      scenario = [...steps]
      scenarioBase = new Map([...streams.values()].map((s) => [s.name, s.attempts]))
    })

  const control = Effect.gen(function* () {
    const request = yield* HttpServerRequest.HttpServerRequest
    const path = new URL(request.url, "http://simulator").pathname
    switch (path) {
      case "/_sim/log":
        return json(200, log)
      case "/_sim/sent":
        return json(200, yield* sent)
      case "/_sim/revoke":
        yield* revokeTokens
        return json(200, { revoked: tokens.size })
      case "/_sim/drop":
        return json(200, { dropped: yield* dropConnections })
      case "/_sim/status":
        return json(200, {
          streams: [...streams.values()].map((s) => ({
            endpoint: s.name,
            attempts: s.attempts,
            maxConnections: s.maxConnections,
            positions: s.positions,
            open: s.connections.filter((c) => c.closedAt === undefined).length
          }))
        })
      default:
        return errorBody(404, "not_found", `no such control path: ${path}`)
    }
  })

  const app = (
    listener: "main" | "redirect"
  ): Effect.Effect<HttpServerResponse.HttpServerResponse, never, HttpServerRequest.HttpServerRequest> =>
    Effect.gen(function* () {
      const request = yield* HttpServerRequest.HttpServerRequest
      const path = new URL(request.url, "http://simulator").pathname
      if (path.startsWith("/api/1/stream/") || path.startsWith("/api/2/stream/"))
        return yield* serveStream(listener)
      if (listener === "redirect") return errorBody(404, "not_found", `no such path: ${path}`)
      if (path === "/ims/token/v3") return yield* token
      if (path.startsWith("/api/2/enable/")) return yield* enable
      if (path.startsWith("/_sim/")) return yield* control
      return errorBody(404, "not_found", `no such path: ${path}`)
    })

  const listen = Effect.fnUntraced(function* (
    port: number,
    listener: "main" | "redirect"
  ): Effect.fn.Return<number, SimulatorStartError> {
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
  const mainPort = yield* listen(options.port, "main")
  const baseUrl = `http://${options.host}:${mainPort}`
  const snapshotLog = Effect.sync(() => log.map((a) => ({ ...a })))

  return Simulator.of({
    baseUrl,
    redirectBaseUrl: `http://${options.redirectHost ?? options.host}:${redirectPort}`,
    streamUrl: (endpoint = options.endpoints[0] ?? "demo", apiVersion = 1) =>
      `${baseUrl}/api/${apiVersion}/stream/${encodeURIComponent(endpoint)}`,
    tokenUrl: `${baseUrl}/ims/token/v3`,
    clientId: options.clientId,
    clientSecret: options.clientSecret,
    options,
    log: snapshotLog,
    settledLog: Effect.gen(function* () {
      for (let i = 0; i < 200 && log.some((a) => a.end === undefined); i++) yield* Effect.sleep(10)
      return yield* snapshotLog
    }),
    sent,
    revokeTokens,
    dropConnections,
    setScenario
  })
})
