// The example against the real simulator on loopback: /metrics, fetched over HTTP, carries per
// report suite counters equal to what the simulator sent (counted from the records it generated).
import { assert, describe, it } from "@effect/vitest"
import { NodeLiveStream } from "@hitstream/client"
import { HitGenerator, Simulator } from "@hitstream/simulator"
import { Effect, Fiber, Layer, Metric } from "effect"
import { HttpServer } from "effect/http"
import { PrometheusMetrics } from "effect/observability"
import { TestClock } from "effect/testing"
import { spawn } from "node:child_process"
import { createServer } from "node:net"
import { fileURLToPath } from "node:url"
import { countHits, type Hit, metricsServer, record } from "../src/CustomMetrics.ts"

const totalHits = 2000

const simulator = Simulator.layer({ rate: Number.POSITIVE_INFINITY, totalHits })

const client = Layer.unwrap(
  Effect.gen(function* () {
    const sim = yield* Simulator.Simulator
    return NodeLiveStream.layer({
      url: sim.streamUrl(),
      tokenUrl: sim.tokenUrl(),
      clientId: sim.clientId,
      clientSecret: sim.clientSecret
    })
  })
)

/** Per report suite, the hits the simulator sent and their products' revenue. */
const groundTruth = Effect.gen(function* () {
  const sim = yield* Simulator.Simulator
  const suites = new Map<string, { hits: number; revenue: number }>()
  for (const { index } of yield* sim.sent) {
    const record = JSON.parse(HitGenerator.generate(sim.options.seed, index, 0).text) as {
      reportSuite: string
      products: Array<{ revenue: number }>
    }
    const suite = suites.get(record.reportSuite) ?? { hits: 0, revenue: 0 }
    suite.hits++
    for (const p of record.products) suite.revenue += p.revenue
    suites.set(record.reportSuite, suite)
  }
  return suites
})

/** The value of one sample line of Prometheus text, e.g. `name{reportSuite="x"}`. */
const sample = (text: string, series: string): number | undefined => {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `))
  return line === undefined ? undefined : Number(line.slice(series.length + 1))
}

const fetchText = (url: string) => Effect.tryPromise(() => fetch(url).then((r) => r.text()))

/** Fetches `url` until `done` holds for the text, at most `seconds`. */
const scrapeUntil = (url: string, done: (text: string) => boolean, seconds = 15) =>
  Effect.gen(function* () {
    let text = ""
    for (let i = 0; i < seconds * 10; i++) {
      text = yield* fetchText(url).pipe(Effect.orElseSucceed(() => ""))
      if (done(text)) return text
      yield* Effect.sleep("100 millis")
    }
    return yield* Effect.die(new Error(`/metrics never got there:\n${text}`))
  })

describe("custom-metrics", () => {
  // The simulator sends one report suite; this splits hits of two, on the TestClock.
  it.effect("each report suite gets its own series; the lag is measured on the Clock", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(1_000_000_000 * 1000)
      const hit = (reportSuite: string, revenue: number, lagSeconds: number): Hit => ({
        reportSuite,
        receivedTimeGMT: 1_000_000_000 - lagSeconds,
        products: [{ revenue }, { revenue: 1 }]
      })
      for (const h of [hit("a", 10, 0.5), hit("b", 20, 5), hit("a", 30, 100), hit("b", 0, 3000)])
        yield* record(h)
      yield* record({ pageName: "no suite" })
      const text = yield* PrometheusMetrics.format()
      assert.strictEqual(sample(text, `livestream_hits_total{reportSuite="a"}`), 2)
      assert.strictEqual(sample(text, `livestream_hits_total{reportSuite="b"}`), 2)
      assert.strictEqual(sample(text, `livestream_hits_total{reportSuite="(none)"}`), 1)
      assert.strictEqual(sample(text, `livestream_revenue_total{reportSuite="a"}`), 42)
      assert.strictEqual(sample(text, `livestream_revenue_total{reportSuite="b"}`), 22)
      assert.strictEqual(sample(text, `livestream_lag_seconds_bucket{reportSuite="a",le="1"}`), 1)
      assert.strictEqual(sample(text, `livestream_lag_seconds_bucket{reportSuite="a",le="128"}`), 2)
      assert.strictEqual(sample(text, `livestream_lag_seconds_bucket{reportSuite="b",le="8"}`), 1)
      assert.strictEqual(sample(text, `livestream_lag_seconds_bucket{reportSuite="b",le="1024"}`), 1)
      assert.strictEqual(sample(text, `livestream_lag_seconds_bucket{reportSuite="b",le="+Inf"}`), 2)
      assert.strictEqual(sample(text, `livestream_lag_seconds_sum{reportSuite="b"}`), 3005)
    }).pipe(Effect.provideService(Metric.MetricRegistry, new Map()))
  )

  it.live(
    "/metrics has, per report suite, the hits and revenue the simulator sent",
    () =>
      Effect.gen(function* () {
        const server = yield* HttpServer.HttpServer
        const url = `${HttpServer.formatAddress(server.address)}/metrics`
        const app = yield* Effect.forkChild(countHits)
        const text = yield* scrapeUntil(url, (t) => sample(t, "hitstream_hits_total") === totalHits)
        // The client counts a hit as it hands it over; the example, once it has recorded it.
        const truth = yield* groundTruth
        const final = yield* scrapeUntil(url, (t) =>
          [...truth].every(
            ([suite, s]) => sample(t, `livestream_hits_total{reportSuite="${suite}"}`) === s.hits
          )
        )
        yield* Fiber.interrupt(app)

        assert.isAbove(truth.size, 0)
        assert.strictEqual(
          [...truth.values()].reduce((n, s) => n + s.hits, 0),
          totalHits
        )
        for (const [suite, s] of truth) {
          const label = `{reportSuite="${suite}"}`
          assert.strictEqual(sample(final, `livestream_hits_total${label}`), s.hits)
          assert.strictEqual(sample(final, `livestream_revenue_total${label}`), s.revenue)
          assert.strictEqual(sample(final, `livestream_lag_seconds_count${label}`), s.hits)
        }
        assert.include(text, "# TYPE livestream_hits_total counter")
        assert.include(final, "# TYPE livestream_lag_seconds histogram")
      }).pipe(
        Effect.provide(
          Layer.mergeAll(metricsServer({ port: 0, host: "127.0.0.1" }), client).pipe(
            Layer.provideMerge(simulator)
          )
        )
      ),
    30_000
  )

  it.live(
    "main.ts, configured by HITSTREAM_* variables, serves the metrics on HITSTREAM_EXAMPLE_METRICS_PORT",
    () =>
      Effect.gen(function* () {
        const sim = yield* Simulator.Simulator
        const port = yield* freePort
        const child = spawn(process.execPath, ["--conditions=@hitstream/source", main], {
          env: {
            PATH: process.env.PATH ?? "",
            HITSTREAM_URL: sim.streamUrl(),
            HITSTREAM_TOKEN_URL: sim.tokenUrl(),
            HITSTREAM_CLIENT_ID: sim.clientId,
            HITSTREAM_CLIENT_SECRET: sim.clientSecret,
            HITSTREAM_EXAMPLE_METRICS_PORT: String(port)
          },
          stdio: ["ignore", "pipe", "pipe"]
        })
        let output = ""
        child.stdout.on("data", (d) => (output += d))
        child.stderr.on("data", (d) => (output += d))
        yield* Effect.addFinalizer(() => Effect.sync(() => child.kill("SIGKILL")))
        const series = `livestream_hits_total{reportSuite="examplecomprod"}`
        const text = yield* scrapeUntil(
          `http://127.0.0.1:${port}/metrics`,
          (t) => sample(t, series) === totalHits,
          40
        )
        assert.strictEqual(sample(text, "hitstream_hits_total"), totalHits)
        assert.include(output, `Listening on http://127.0.0.1:${port}`)
        assert.notInclude(output + text, sim.clientSecret)
      }).pipe(
        // The child goes before the simulator, which would otherwise wait for its open connection.
        Effect.scoped,
        Effect.provide(simulator)
      ),
    60_000
  )
})

const main = fileURLToPath(new URL("../src/main.ts", import.meta.url))

/** A port that was free a moment ago (Config.Port takes 1 to 65535, so not 0). */
const freePort = Effect.callback<number>((resume) => {
  const server = createServer()
  server.listen(0, "127.0.0.1", () => {
    const { port } = server.address() as { port: number }
    server.close(() => resume(Effect.succeed(port)))
  })
})
