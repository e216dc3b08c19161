/**
 * The app of issue #16, as an Effect developer writes one against the packages: the client
 * configured in code, the simulator in-process, hits windowed per page with
 * `Stream.groupedWithin`, the slots' status watched, a graceful stop, Prometheus at `/metrics`.
 * No casts anywhere: `main`'s error channel is exactly the union of the documented errors
 * (`EffectApp.test.ts` and `types.test.ts` pin it).
 */
import { NodeHttpServer } from "@effect/platform-node"
import { LiveStream, NodeLiveStream } from "@hitstream/client"
import { Simulator } from "@hitstream/simulator"
import { type Duration, Effect, Layer, Metric, Stream, SubscriptionRef } from "effect"
import { HttpRouter, HttpServer } from "effect/http"
import { PrometheusMetrics } from "effect/observability"
import { createServer } from "node:http"

/** Page views, by page: served at `/metrics` next to the client's own `hitstream_*` metrics. */
const pageViews = Metric.counter("app_page_views_total", {
  description: "page views, by page",
  incremental: true
})

/** One window: how many hits each page had in it. */
export type Window = ReadonlyMap<string, number>

const countPages = (hits: ReadonlyArray<{ readonly pageName?: string }>): Window => {
  const pages = new Map<string, number>()
  for (const hit of hits) pages.set(hit.pageName ?? "(none)", (pages.get(hit.pageName ?? "(none)") ?? 0) + 1)
  return pages
}

const record = (window: Window) =>
  Effect.forEach(
    window,
    ([page, views]) => Metric.update(Metric.withAttributes(pageViews, { page }), views),
    {
      discard: true
    }
  )

/** The slots as one line, e.g. `slot 0 Streaming, slot 1 Waiting`. */
const describe = (slots: ReadonlyArray<LiveStream.SlotStatus>) =>
  slots.map((s) => `slot ${s.slot} ${s.state._tag}`).join(", ")

/** What the app needs to know: how to window, and when to stop. */
export interface Options {
  readonly window: { readonly hits: number; readonly within: Duration.Input }
  /** Completes when the app should stop (a signal, a deadline); the stream then drains. */
  readonly stop: Effect.Effect<
    void,
    never,
    LiveStream.LiveStream | HttpServer.HttpServer | Simulator.Simulator
  >
}

/** Windows per page until stopped; the totals per page, once every received hit is counted. */
export const program = (options: Options) =>
  Effect.gen(function* () {
    const live = yield* LiveStream.LiveStream
    yield* HttpServer.logAddress
    // Status: every change of a slot's state, as it happens.
    yield* SubscriptionRef.changes(live.status).pipe(
      Stream.map(describe),
      Stream.changes,
      Stream.runForEach((line) => Effect.logInfo(`status: ${line}`)),
      Effect.forkScoped
    )
    // A graceful stop: the connections close, what was received is still windowed and counted.
    yield* options.stop.pipe(Effect.andThen(live.stop), Effect.forkScoped)
    return yield* live.hits.pipe(
      Stream.groupedWithin(options.window.hits, options.window.within),
      Stream.map(countPages),
      Stream.tap(record),
      Stream.runFold(
        () => new Map<string, number>(),
        (totals, window) => {
          for (const [page, views] of window) totals.set(page, (totals.get(page) ?? 0) + views)
          return totals
        }
      )
    )
  }).pipe(Effect.scoped)

/** `/metrics` in Prometheus text, on `port` (0: any free one). */
export const metrics = (port: number) =>
  HttpRouter.serve(PrometheusMetrics.layerHttp(), { disableLogger: true }).pipe(
    Layer.provideMerge(NodeHttpServer.layer(createServer, { port, host: "127.0.0.1" }))
  )

/** The client, configured in code against the simulator it runs next to. */
export const client = Layer.unwrap(
  Effect.map(Effect.service(Simulator.Simulator), (sim) =>
    NodeLiveStream.layer({
      url: sim.streamUrl(),
      tokenUrl: sim.tokenUrl(),
      clientId: sim.clientId,
      clientSecret: sim.clientSecret,
      maxConnections: 2,
      connections: 2,
      minReconnectDelay: "60 seconds",
      connectTimeout: { seconds: 30 }
    })
  )
)

/** The whole app: the simulator in-process, the client, `/metrics`, the windows. */
export const main = (options: Options & { readonly simulator: Partial<Simulator.Options> }) =>
  program(options).pipe(
    Effect.provide(Layer.mergeAll(client, metrics(0))),
    Effect.provide(Simulator.layer(options.simulator))
  )
