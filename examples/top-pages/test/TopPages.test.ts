// The example against the real simulator on loopback: a window's table is the top 10 counted
// independently from the simulator's ground truth (the hits it sent), on the TestClock's minutes.
import { assert, describe, it } from "@effect/vitest"
import { LiveStream, NodeLiveStream } from "@hitstream/client"
import { HitGenerator, Simulator } from "@hitstream/simulator"
import { Effect, Fiber, Layer, Queue, Stream } from "effect"
import { TestClock } from "effect/testing"
import { spawn } from "node:child_process"
import { fileURLToPath } from "node:url"
import { type Counts, table, top, windows } from "../src/TopPages.ts"

const totalHits = 3000

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

/** Pages and countries of the hits the simulator sent, counted from the records it generated. */
const groundTruth = Effect.gen(function* () {
  const sim = yield* Simulator.Simulator
  const pages = new Map<string, number>()
  const countries = new Map<string, number>()
  const sent = yield* sim.sent
  for (const { index } of sent) {
    const record = JSON.parse(HitGenerator.generate(sim.options.seed, index, 0).text) as Record<
      string,
      string
    >
    pages.set(record.pageName, (pages.get(record.pageName) ?? 0) + 1)
    countries.set(record.geoCountry, (countries.get(record.geoCountry) ?? 0) + 1)
  }
  return { hits: sent.length, pages, countries }
})

/** Sorted by count, then by name: written here again, not taken from the example. */
const expectedTop = (counts: Map<string, number>) =>
  [...counts.entries()].sort((a, b) => (a[1] !== b[1] ? b[1] - a[1] : a[0] < b[0] ? -1 : 1)).slice(0, 10)

/** The rows of one section of a printed table. */
const printedRows = (text: string, section: string) => {
  const lines = text.split("\n")
  const start = lines.findIndex((l) => l.startsWith(section))
  assert.isAbove(start, -1, `a "${section}" section`)
  const rows: Array<[string, number]> = []
  for (const line of lines.slice(start + 1)) {
    const m = /^\s*\d+\. (.+?)\s+(\d+)$/.exec(line)
    if (m === null) break
    rows.push([m[1], Number(m[2])])
  }
  return rows
}

/** Polls `condition` in real time (the TestClock stands still meanwhile), for at most 10 s. */
const until = (condition: () => boolean, what: string) =>
  TestClock.withLive(
    Effect.gen(function* () {
      for (let i = 0; i < 1000 && !condition(); i++) yield* Effect.sleep("10 millis")
      if (!condition()) return yield* Effect.die(new Error(`timed out waiting for ${what}`))
    })
  )

describe("top-pages", () => {
  it.effect(
    "a minute's table is the top 10 pages and countries of the hits the simulator sent",
    () =>
      Effect.gen(function* () {
        const live = yield* LiveStream.LiveStream
        const closed = yield* Queue.unbounded<Counts>()
        let seen = 0
        const app = yield* windows(
          live.hits.pipe(Stream.tap(() => Effect.sync(() => seen++))),
          "1 minute"
        ).pipe(
          Stream.runForEach((counts) => Queue.offer(closed, counts)),
          Effect.forkChild
        )
        yield* until(() => seen === totalHits, "every hit to reach the window")
        // Let the last chunk pass from the stream into the fold before the clock moves.
        for (let i = 0; i < 10; i++) yield* Effect.yieldNow

        yield* TestClock.adjust("59 seconds")
        yield* TestClock.withLive(Effect.sleep("50 millis"))
        assert.strictEqual(yield* Queue.size(closed), 0, "no table before the minute is over")
        yield* TestClock.adjust("1 second")
        const counts = yield* TestClock.withLive(Queue.take(closed).pipe(Effect.timeout("5 seconds")))

        const truth = yield* groundTruth
        assert.strictEqual(truth.hits, totalHits)
        assert.strictEqual(counts.hits, truth.hits)
        assert.deepStrictEqual(counts.pages, truth.pages)
        assert.deepStrictEqual(counts.countries, truth.countries)
        const text = table(counts, "now")
        assert.deepStrictEqual(printedRows(text, "top 10 pages"), expectedTop(truth.pages))
        assert.deepStrictEqual(printedRows(text, "top 10 countries"), expectedTop(truth.countries))
        assert.include(text, `── ${totalHits} hits`)

        // A quiet minute prints nothing.
        yield* TestClock.adjust("2 minutes")
        yield* TestClock.withLive(Effect.sleep("50 millis"))
        assert.strictEqual(yield* Queue.size(closed), 0)
        yield* Fiber.interrupt(app)
      }).pipe(Effect.provide(client), Effect.provide(simulator)),
    20_000
  )

  it("top: by count, ties in name order", () => {
    const counts = new Map([
      ["b", 2],
      ["a", 2],
      ["c", 5],
      ["d", 1]
    ])
    assert.deepStrictEqual(top(counts, 3), [
      ["c", 5],
      ["a", 2],
      ["b", 2]
    ])
  })
})

const main = fileURLToPath(new URL("../src/main.ts", import.meta.url))

/** Runs `src/main.ts` as a user would, with only the given environment; at most 30 s. */
const runMain = (env: Record<string, string>) =>
  Effect.callback<{ code: number | null; stdout: string; stderr: string }>((resume) => {
    const child = spawn(process.execPath, ["--conditions=@hitstream/source", main], {
      env: { PATH: process.env.PATH ?? "", ...env },
      stdio: ["ignore", "pipe", "pipe"]
    })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (d) => (stdout += d))
    child.stderr.on("data", (d) => (stderr += d))
    child.on("close", (code) => resume(Effect.succeed({ code, stdout, stderr })))
    return Effect.sync(() => child.kill("SIGKILL"))
  }).pipe(Effect.timeout("30 seconds"))

describe("top-pages main.ts", () => {
  it.live(
    "configured by HITSTREAM_* variables, prints the table of a short window and exits",
    () =>
      Effect.gen(function* () {
        const sim = yield* Simulator.Simulator
        const run = yield* runMain({
          HITSTREAM_URL: sim.streamUrl(),
          HITSTREAM_TOKEN_URL: sim.tokenUrl(),
          HITSTREAM_CLIENT_ID: sim.clientId,
          HITSTREAM_CLIENT_SECRET: sim.clientSecret,
          HITSTREAM_EXAMPLE_WINDOW: "3 seconds",
          HITSTREAM_EXAMPLE_TABLES: "1"
        })
        assert.strictEqual(run.code, 0, run.stderr)
        const truth = yield* groundTruth
        assert.include(run.stdout, `── ${totalHits} hits in the window`)
        assert.deepStrictEqual(printedRows(run.stdout, "top 10 pages"), expectedTop(truth.pages))
        assert.deepStrictEqual(printedRows(run.stdout, "top 10 countries"), expectedTop(truth.countries))
        assert.notInclude(run.stdout + run.stderr, sim.clientSecret, "the secret is never printed")
      }).pipe(Effect.provide(simulator)),
    40_000
  )

  it.live(
    "a bad window names its variable",
    () =>
      Effect.gen(function* () {
        const sim = yield* Simulator.Simulator
        const run = yield* runMain({
          HITSTREAM_URL: sim.streamUrl(),
          HITSTREAM_TOKEN_URL: sim.tokenUrl(),
          HITSTREAM_CLIENT_ID: sim.clientId,
          HITSTREAM_CLIENT_SECRET: sim.clientSecret,
          HITSTREAM_EXAMPLE_WINDOW: "soon"
        })
        assert.notStrictEqual(run.code, 0)
        assert.include(run.stderr + run.stdout, "HITSTREAM_EXAMPLE_WINDOW")
        assert.strictEqual((yield* sim.log).length, 0, "and no connection was made")
      }).pipe(Effect.provide(simulator)),
    40_000
  )
})
