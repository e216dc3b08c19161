/**
 * `/metrics` (Prometheus text, from Effect's metric registry) and `/healthz` on a port of their
 * own, for `--metrics-port`.
 *
 * @since 0.1.0
 */
import { NodeHttpServer } from "@effect/platform-node"
import { LiveStream } from "@hitstream/client"
import { Effect, Layer, SubscriptionRef } from "effect"
import { HttpRouter, HttpServerResponse } from "effect/http"
import { PrometheusMetrics } from "effect/observability"
import { createServer } from "node:http"

/**
 * Serves until the scope closes. Healthy while no slot has failed.
 *
 * @since 0.1.0
 */
export const layer = (port: number, live: LiveStream.LiveStream["Service"]) => {
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
        const statuses = yield* SubscriptionRef.get(live.status)
        const failed = statuses.filter((s) => s.state._tag === "Failed")
        return HttpServerResponse.jsonUnsafe(
          {
            ok: failed.length === 0,
            slots: statuses.map((s) => ({ slot: s.slot, state: s.state._tag, hits: s.hits }))
          },
          { status: failed.length === 0 ? 200 : 503 }
        )
      })
    )
  )
  return HttpRouter.serve(routes, { disableLogger: true }).pipe(
    Layer.provide(NodeHttpServer.layer(createServer, { port, host: "127.0.0.1" }))
  )
}
