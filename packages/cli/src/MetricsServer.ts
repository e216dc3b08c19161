/**
 * `/metrics` (Prometheus text, from Effect's metric registry) and `/healthz` on a port of their
 * own, for `--metrics-port`.
 *
 * A layer of the program: it binds when the program's layers are built, before any connection,
 * so a port already in use (or a host that is not this machine's) is a configuration error that
 * stops the start, never a silent omission.
 *
 * @since 0.1.0
 */
import { NodeHttpServer } from "@effect/platform-node"
import { LiveStream } from "@hitstream/client"
import { RedactedUrl } from "@hitstream/core"
import { Effect, Layer, Schema } from "effect"
import { HttpRouter, HttpServerResponse } from "effect/http"
import { PrometheusMetrics } from "effect/observability"
import { createServer } from "node:http"

/**
 * The metrics server cannot listen: says where, and why, as the flag was given.
 *
 * @since 0.1.0
 */
export class MetricsServerError extends Schema.TaggedError<MetricsServerError>()("MetricsServerError", {
  field: Schema.String,
  message: Schema.String
}) {}

const reasons: Record<string, string> = {
  EADDRINUSE: "address already in use",
  EACCES: "permission denied (ports below 1024 need privileges)",
  EADDRNOTAVAIL: "address not available on this machine",
  ENOTFOUND: "unknown host"
}

/**
 * Why a listen failed, in a few words.
 *
 * @since 0.1.0
 */
export const describeListenError = (cause: unknown): string => {
  let current: unknown = cause
  // The platform wraps Node's error; its code is on the innermost one.
  for (let i = 0; i < 5 && current !== undefined; i++) {
    const code = (current as { code?: unknown }).code
    if (typeof code === "string") return reasons[code] ?? `${code}: ${(current as Error).message}`
    current = (current as { cause?: unknown }).cause
  }
  return cause instanceof Error ? cause.message : String(cause)
}

/**
 * @since 0.1.0
 */
export interface Options {
  readonly port: number
  readonly host: string
}

/**
 * Serves until the scope closes. Healthy while no slot has failed or is stuck (`LiveStream.health`).
 *
 * @since 0.1.0
 */
export const layer = (options: Options): Layer.Layer<never, MetricsServerError, LiveStream.LiveStream> => {
  const routes = Layer.mergeAll(
    HttpRouter.add(
      "GET",
      "/metrics",
      Effect.map(PrometheusMetrics.format(), (text) =>
        HttpServerResponse.text(text, { contentType: "text/plain; version=0.0.4" })
      )
    ),
    HttpRouter.add(
      "GET",
      "/healthz",
      Effect.gen(function* () {
        const live = yield* LiveStream.LiveStream
        const statuses = yield* live.slots
        // Failed, or stuck: connecting past the connect timeout, waiting past its planned time.
        const health = yield* live.health
        return HttpServerResponse.jsonUnsafe(
          {
            ok: health.ok,
            problems: health.problems.map((p) => ({
              slot: p.slot,
              problem: RedactedUrl.redactText(p.problem)
            })),
            slots: statuses.map((s) => ({ slot: s.slot, state: s.state._tag, hits: s.hits }))
          },
          { status: health.ok ? 200 : 503 }
        )
      })
    )
  )
  return HttpRouter.serve(routes, { disableLogger: true }).pipe(
    Layer.provide(NodeHttpServer.layer(createServer, { port: options.port, host: options.host })),
    Layer.catchTag("ServeError", (e) =>
      Layer.effectDiscard(
        Effect.fail(
          new MetricsServerError({
            field: "metricsPort",
            message: `--metrics-port ${options.port}${options.host === "127.0.0.1" ? "" : ` on --metrics-host ${options.host}`}: ${describeListenError(e.cause)}`
          })
        )
      )
    )
  )
}
