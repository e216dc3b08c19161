/**
 * The live dashboard as a layer: one read-only page on `effect/http`, fed by Server-Sent Events.
 *
 * The layer watches the `LiveStream`'s status (every state change), counts the hits it is handed
 * (`record`, or `track` on the hit stream) into per-second windows, and once a second builds one
 * summary and hands it to every watching browser. However many hits arrive, a browser receives
 * at most one message a second; one that stops reading is dropped (see `Broadcast`), so a browser
 * never slows the stream nor holds memory. A browser that connects, or reconnects after a drop
 * or a network blip, first receives a whole snapshot, so the page resumes without reloading.
 *
 * Safe by default: binds 127.0.0.1; answers only GET; sends a Content-Security-Policy that allows
 * nothing but its own files and its own event stream; refuses requests whose Host is not a
 * loopback name when bound to loopback (a DNS-rebinding page cannot read it); puts no secret in a
 * payload (see `Summary`).
 *
 * @since 0.1.0
 */
import { NodeHttpServer, NodeHttpServerRequest } from "@effect/platform-node"
import { LiveStream } from "@hitstream/client"
import type { Hit } from "@hitstream/core"
import {
  Clock,
  Context,
  Duration,
  Effect,
  Layer,
  Logger,
  References,
  Schedule,
  type Scope,
  Stream,
  SubscriptionRef
} from "effect"
import { Sse } from "effect/encoding"
import { HttpRouter, HttpServer, type HttpServerError, HttpServerResponse } from "effect/http"
import { createServer } from "node:http"
import * as Assets from "./Assets.ts"
import * as Broadcast from "./Broadcast.ts"
import * as Summary from "./Summary.ts"
import * as Timeline from "./Timeline.ts"
import * as Window from "./Window.ts"

/**
 * @since 0.1.0
 */
export interface Options {
  /** Port to listen on; 0 (the default) picks a free one (see `url`). */
  readonly port?: number | undefined
  /** Address to bind; default 127.0.0.1. Anything else exposes the page to the network. */
  readonly host?: string | undefined
  /** The gap the timeline flags red below; default the client's `minReconnectDelay`, else 60 s. */
  readonly minReconnectDelay?: Duration.Input | undefined
  /** How often a summary is sent; default 1 s (never less). */
  readonly interval?: Duration.Input | undefined
  /** Messages held per browser before it counts as lagging and is dropped; default 8. */
  readonly clientBuffer?: number | undefined
  /** Browsers watching at once; default 32 (more get 503). */
  readonly maxClients?: number | undefined
}

/**
 * The hour the timeline covers.
 *
 * @since 0.1.0
 */
export const horizonMillis = 3_600_000

/**
 * @since 0.1.0
 */
export class Dashboard extends Context.Service<
  Dashboard,
  {
    /** Where the page is, e.g. `http://127.0.0.1:9465/`. */
    readonly url: string
    /** Counts hits into the windows (hits/s, lag, top tables). Cheap, never waits. */
    readonly record: (hits: ReadonlyArray<Hit.Hit>) => Effect.Effect<void>
    /** Keeps a skipped record's preview for the page (the layer's logger calls this). */
    readonly recordMalformed: (entry: Summary.MalformedView) => void
    /** The summary a browser would receive now. */
    readonly summary: (kind: "snapshot" | "tick") => Effect.Effect<Summary.Summary>
    /** Browsers watching now, and how many were dropped for lagging so far. */
    readonly clients: Effect.Effect<{ readonly watching: number; readonly dropped: number }>
    /**
     * Closes every browser's event stream now (as shutdown does); each reconnects by itself and
     * resumes from a fresh snapshot. Returns how many were closed.
     */
    readonly disconnect: Effect.Effect<number>
    /**
     * Shows `live` (its slots, counters, transitions) for the scope's lifetime. `layer` does it;
     * `layerServer` leaves it to the caller, to serve the page before the stream exists.
     */
    readonly attach: (live: LiveStream.LiveStream["Service"]) => Effect.Effect<void, never, Scope.Scope>
  }
>()("@hitstream/dashboard/Dashboard") {}

/**
 * Counts every chunk of hits that passes into the dashboard, unchanged.
 *
 * @since 0.1.0
 */
export const track = <E, R>(hits: Stream.Stream<Hit.Hit, E, R>): Stream.Stream<Hit.Hit, E, R | Dashboard> =>
  Stream.unwrap(
    Dashboard.useSync((dashboard) =>
      Stream.mapArrayEffect(hits, (chunk) => Effect.as(dashboard.record(chunk), chunk))
    )
  )

/**
 * The Content-Security-Policy the page is served with: its own scripts, styles and icon, and
 * its own event stream; nothing inline, nothing from elsewhere, not framable.
 *
 * @since 0.1.0
 */
export const contentSecurityPolicy =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
  "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

const securityHeaders = {
  "content-security-policy": contentSecurityPolicy,
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
  "cross-origin-resource-policy": "same-origin"
}

const loopbackHosts = new Set(["127.0.0.1", "localhost", "::1", "[::1]"])

const isLoopback = (host: string) => loopbackHosts.has(host) || host.startsWith("127.")

/** The host name of a Host header, without the port. */
const hostName = (header: string | undefined): string | undefined => {
  if (header === undefined) return undefined
  if (header.startsWith("[")) return header.slice(0, header.indexOf("]") + 1)
  const colon = header.indexOf(":")
  return colon === -1 ? header : header.slice(0, colon)
}

const encoder = new TextEncoder()

const event = (kind: string, id: number, summary: Summary.Summary): Uint8Array =>
  encoder.encode(
    Sse.encoder.write({ _tag: "Event", event: kind, id: String(id), data: JSON.stringify(summary) })
  )

// A browser that lost the stream retries after this long (EventSource's own reconnect).
const retry = encoder.encode(
  Sse.encoder.write(new Sse.Retry({ duration: Duration.seconds(2), lastEventId: undefined }))
)

const malformedPattern = /malformed record \(([^)]*)\)/

/**
 * A logger that keeps the client's "skipped a malformed record" warnings (their `preview`) for the
 * page. It only reads; the program's own loggers still write every line.
 *
 * @since 0.1.0
 */
export const malformedLogger = (dashboard: Dashboard["Service"]) =>
  Logger.make<unknown, void>(({ message, fiber, date }) => {
    const parts = Array.isArray(message) ? message : [message]
    const text = parts.find((p): p is string => typeof p === "string" && p.includes("malformed record"))
    if (text === undefined) return
    const detail = parts.find(
      (p): p is { preview: unknown } => typeof p === "object" && p !== null && "preview" in p
    )
    const annotations = fiber.getRef(References.CurrentLogAnnotations)
    const slot = typeof annotations["slot"] === "number" ? annotations["slot"] : null
    dashboard.recordMalformed({
      at: date.getTime(),
      slot,
      reason: malformedPattern.exec(text)?.[1] ?? "malformed",
      preview: detail === undefined ? text : String(detail.preview)
    })
  })

const make = (options: Options) =>
  Effect.gen(function* () {
    const server = yield* HttpServer.HttpServer
    const assets = yield* Assets.load
    // Known once a stream is attached (its configuration says), unless the options say.
    let minReconnectDelayMillis =
      options.minReconnectDelay !== undefined
        ? Duration.toMillis(Duration.fromInputUnsafe(options.minReconnectDelay))
        : 60_000
    let live: LiveStream.LiveStream["Service"] | undefined
    const interval = Duration.max(
      Duration.fromInputUnsafe(options.interval ?? Duration.seconds(1)),
      Duration.seconds(1)
    )
    const host = options.host ?? "127.0.0.1"
    const loopbackOnly = isLoopback(host)

    const startedAt = yield* Clock.currentTimeMillis
    const window = Window.make(Math.floor(startedAt / 1000))
    const timeline = Timeline.make()
    const broadcast = Broadcast.make({
      ...(options.clientBuffer === undefined ? {} : { capacity: options.clientBuffer }),
      ...(options.maxClients === undefined ? {} : { maxClients: options.maxClients })
    })
    let malformed: ReadonlyArray<Summary.MalformedView> = []
    let sequence = 0

    const observe = (statuses: ReadonlyArray<LiveStream.SlotStatus>, now: number) => {
      for (const status of statuses) Timeline.observe(timeline, status.slot, status.state, now)
    }

    const summary = Effect.fn("Dashboard.summary")(function* (kind: "snapshot" | "tick") {
      const now = yield* Clock.currentTimeMillis
      const statuses = live === undefined ? [] : yield* live.slots
      observe(statuses, now)
      Timeline.prune(timeline, now - horizonMillis)
      return Summary.make({
        kind,
        now,
        startedAt,
        minReconnectDelayMillis,
        horizonMillis,
        statuses,
        counters:
          live === undefined
            ? { hits: 0, duplicates: 0, malformed: 0, bytes: 0, attempts: 0 }
            : yield* live.counters,
        malformed,
        window,
        timeline
      })
    })

    const attach = Effect.fn("Dashboard.attach")(function* (stream: LiveStream.LiveStream["Service"]) {
      live = stream
      if (options.minReconnectDelay === undefined) {
        minReconnectDelayMillis = stream.config.policy.minReconnectDelay
      }
      // Every transition, as it happens: a connect that fails within a second still shows.
      yield* SubscriptionRef.changes(stream.status).pipe(
        Stream.runForEach((statuses) => Effect.map(Clock.currentTimeMillis, (now) => observe(statuses, now))),
        Effect.forkScoped
      )
      yield* Effect.addFinalizer(() => Effect.sync(() => (live = live === stream ? undefined : live)))
    })
    yield* Effect.gen(function* () {
      if (broadcast.clients.size === 0) return
      const dropped = Broadcast.publish(broadcast, event("tick", ++sequence, yield* summary("tick")))
      if (dropped > 0)
        yield* Effect.logWarning(`dashboard: dropped ${dropped} browser(s) that stopped reading`)
    }).pipe(Effect.repeat(Schedule.spaced(interval)), Effect.forkScoped)
    const disconnect = Effect.sync(() => Broadcast.end(broadcast))
    // Browsers still connected are let go first, so that closing the server does not wait on them.
    yield* Effect.addFinalizer(() => disconnect)

    const allowed = (request: { readonly headers: Readonly<Record<string, string | undefined>> }) =>
      !loopbackOnly || isLoopback(hostName(request.headers["host"]) ?? "")
    const refused = HttpServerResponse.text(
      "This dashboard answers only to 127.0.0.1 and localhost. Bind it elsewhere with --dashboard-host.",
      { status: 421, headers: securityHeaders }
    )

    const router = yield* HttpRouter.HttpRouter
    for (const [path, asset] of assets) {
      const response = HttpServerResponse.uint8Array(asset.body, {
        contentType: asset.contentType,
        headers: { ...securityHeaders, "cache-control": path === "/" ? "no-store" : "no-cache" }
      })
      yield* router.add("GET", path as `/${string}`, (request) =>
        Effect.succeed(allowed(request) ? response : refused)
      )
    }
    yield* router.add("GET", "/events", (request) =>
      Effect.gen(function* () {
        if (!allowed(request)) return refused
        if (broadcast.clients.size >= broadcast.maxClients) {
          return HttpServerResponse.text(`too many browsers (${broadcast.maxClients}) are watching`, {
            status: 503,
            headers: { ...securityHeaders, "retry-after": "10" }
          })
        }
        const first = event("snapshot", ++sequence, yield* summary("snapshot"))
        const node = NodeHttpServerRequest.toServerResponse(request)
        const body = Stream.unwrap(
          Effect.map(
            Broadcast.subscribe(broadcast, first, () => node.destroy()),
            (client) => (client === undefined ? Stream.empty : Stream.fromQueue(client.queue))
          )
        )
        return HttpServerResponse.stream(Stream.concat(Stream.make(retry), body), {
          contentType: "text/event-stream",
          headers: { ...securityHeaders, "cache-control": "no-store", "x-accel-buffering": "no" }
        })
      })
    )

    const url = `${HttpServer.formatAddress(server.address)}/`

    const service: Dashboard["Service"] = {
      url,
      record: (hits) =>
        hits.length === 0
          ? Effect.void
          : Effect.map(Clock.currentTimeMillis, (now) => Window.record(window, hits, now)),
      recordMalformed: (entry) => {
        malformed = Summary.pushMalformed(malformed, entry)
      },
      summary,
      clients: Effect.sync(() => ({ watching: broadcast.clients.size, dropped: broadcast.dropped })),
      disconnect,
      attach
    }
    return service
  })

/**
 * Serves the page for as long as the layer lives, with no stream yet (`attach` one): for a
 * program that wants the address before it builds the stream. Installs (beside the program's
 * own loggers) the logger that keeps malformed-record previews for the page.
 *
 * @since 0.1.0
 */
export const layerServer = (
  options: Options = {}
): Layer.Layer<Dashboard, HttpServerError.ServeError | Assets.AssetsMissing> => {
  const served = HttpRouter.serve(Layer.effect(Dashboard, make(options)), {
    disableLogger: true,
    disableListenLog: true
  }).pipe(
    Layer.provide(
      NodeHttpServer.layer(() => createServer(), {
        port: options.port ?? 0,
        host: options.host ?? "127.0.0.1",
        gracefulShutdownTimeout: Duration.seconds(2)
      })
    )
  )
  const logger = Logger.layer([Dashboard.useSync(malformedLogger)], { mergeWithExisting: true })
  return Layer.provideMerge(logger, served)
}

/**
 * Shows the `LiveStream` in the context on the dashboard in the context, for the scope's
 * lifetime.
 *
 * @since 0.1.0
 */
export const attach: Effect.Effect<void, never, Dashboard | LiveStream.LiveStream | Scope.Scope> = Effect.gen(
  function* () {
    const dashboard = yield* Dashboard
    const live = yield* LiveStream.LiveStream
    yield* dashboard.attach(live)
  }
)

/**
 * Serves the dashboard of the `LiveStream` for as long as the layer lives: `layerServer` with
 * the stream attached.
 *
 * @since 0.1.0
 */
export const layer = (
  options: Options = {}
): Layer.Layer<Dashboard, HttpServerError.ServeError | Assets.AssetsMissing, LiveStream.LiveStream> =>
  Layer.effectDiscard(attach).pipe(Layer.provideMerge(layerServer(options)))
