// The app of issue #16 (EffectApp.ts) run against the simulator in-process: every hit is windowed
// and counted per page, /metrics serves the counts, the stop drains, and the error channel is
// exactly the documented errors.
import { assert, describe, expectTypeOf, it } from "@effect/vitest"
import type { Config } from "@hitstream/core"
import { HitGenerator, Simulator } from "@hitstream/simulator"
import { Effect, Schedule } from "effect"
import { HttpServer, type HttpServerError } from "effect/http"
import type { LiveStream, Network } from "../src/index.ts"
import { LiveStream as Live } from "../src/index.ts"
import { main } from "./EffectApp.ts"

const total = 600

describe("the Effect app of issue #16", () => {
  it("its error channel is the union of the documented errors, and it needs nothing", () => {
    type App = ReturnType<typeof main>
    expectTypeOf<App>().toEqualTypeOf<
      Effect.Effect<
        Map<string, number>,
        | LiveStream.LiveStreamError
        | Config.ConfigError
        | Network.NetworkSettingsError
        | Simulator.SimulatorStartError
        | HttpServerError.ServeError,
        never
      >
    >()
  })

  it.live(
    "windows every hit per page, serves the counts at /metrics, and stops gracefully",
    () =>
      Effect.gen(function* () {
        let scraped = ""
        let expected = new Map<string, number>()
        const totals = yield* main({
          window: { hits: 100, within: "1 second" },
          simulator: { rate: Number.POSITIVE_INFINITY, totalHits: total, gracePeriod: 200 },
          stop: Effect.gen(function* () {
            const live = yield* Live.LiveStream
            yield* live.counters.pipe(
              Effect.repeat({ until: (c) => c.hits >= total, schedule: Schedule.spaced("50 millis") })
            )
            const sim = yield* Simulator.Simulator
            for (const sent of yield* sim.sent) {
              const page = JSON.parse(HitGenerator.generate(sim.options.seed, sent.index, 0).text).pageName
              expected.set(page, (expected.get(page) ?? 0) + 1)
            }
            const url = `${HttpServer.formatAddress((yield* HttpServer.HttpServer).address)}/metrics`
            scraped = yield* Effect.promise(() => fetch(url).then((r) => r.text()))
          })
        })
        assert.strictEqual(
          [...totals.values()].reduce((a, b) => a + b, 0),
          total
        )
        assert.deepStrictEqual(totals, expected, "page counts equal the simulator's ground truth")
        const [page, views] = [...expected][0]
        assert.include(scraped, `app_page_views_total{page="${page}"} ${views}`)
        assert.include(scraped, `hitstream_hits_total ${total}`)
      }),
    30_000
  )
})
