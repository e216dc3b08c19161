/**
 * Your own metrics from a Live Stream, per report suite, served as Prometheus text.
 *
 * They are Effect `Metric`s with a `reportSuite` attribute: hits and revenue as counters, and the
 * lag (how long after Adobe received a hit it reaches you) as a histogram. They live in Effect's
 * metric registry next to the client's own (`hitstream_hits_total`, ...), and
 * `PrometheusMetrics.layerHttp` serves them all at `/metrics`.
 */
import { NodeHttpServer } from "@effect/platform-node"
import { LiveStream } from "@hitstream/client"
import { Clock, Config, Effect, Layer, Metric, Stream } from "effect"
import { HttpRouter } from "effect/http"
import { PrometheusMetrics } from "effect/observability"
import { createServer } from "node:http"

/** A hit, as `LiveStream.hits` delivers it. */
export type Hit = Stream.Success<LiveStream.LiveStream["Service"]["hits"]>

const hits = Metric.counter("livestream_hits_total", {
  description: "hits received, by report suite",
  incremental: true
})

const revenue = Metric.counter("livestream_revenue_total", {
  description: "revenue of the products in the hits received, by report suite",
  incremental: true
})

const lag = Metric.histogram("livestream_lag_seconds", {
  description: "seconds from Adobe receiving a hit to this process receiving it, by report suite",
  boundaries: Metric.exponentialBoundaries({ start: 1, factor: 2, count: 12 })
})

// Products carry their revenue as a number; anything else counts as none.
const revenueOf = (hit: Hit) =>
  (hit.products ?? []).reduce((sum, p) => sum + (typeof p.revenue === "number" ? p.revenue : 0), 0)

/** Updates the metrics for one hit. */
export const record = Effect.fnUntraced(function* (hit: Hit) {
  const bySuite = { reportSuite: hit.reportSuite ?? "(none)" }
  yield* Metric.update(Metric.withAttributes(hits, bySuite), 1)
  yield* Metric.update(Metric.withAttributes(revenue, bySuite), revenueOf(hit))
  if (hit.receivedTimeGMT !== undefined) {
    const now = yield* Clock.currentTimeMillis
    yield* Metric.update(Metric.withAttributes(lag, bySuite), Math.max(0, now / 1000 - hit.receivedTimeGMT))
  }
})

/** Records every hit of the Live Stream, until it ends. */
export const countHits = Effect.gen(function* () {
  const live = yield* LiveStream.LiveStream
  yield* live.hits.pipe(Stream.runForEach(record))
})

/** `GET /metrics` in Prometheus text, on a port of its own (it logs where it listens). */
export const metricsServer = (options: { readonly port: number; readonly host: string }) =>
  HttpRouter.serve(PrometheusMetrics.layerHttp(), { disableLogger: true }).pipe(
    Layer.provideMerge(NodeHttpServer.layer(createServer, options))
  )

/** Where `/metrics` listens, next to the client's `HITSTREAM_*` variables. */
export const settings = Config.all({
  port: Config.Port("HITSTREAM_EXAMPLE_METRICS_PORT").pipe(Config.withDefault(9464)),
  host: Config.String("HITSTREAM_EXAMPLE_METRICS_HOST").pipe(Config.withDefault("127.0.0.1"))
})

/** Serves `/metrics` and records the Live Stream's hits, until stopped. */
export const program = Effect.gen(function* () {
  const server = metricsServer(yield* settings)
  yield* countHits.pipe(Effect.provide(server))
})
