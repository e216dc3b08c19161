// The 60-second rule at the client level: the real LiveStream loop, with a scripted Connection
// in place of the network, on the TestClock. Minutes of reconnect spacing run in milliseconds.
import { Config, ReconnectPolicy } from "@hitstream/core"
import { assert, describe, it } from "@effect/vitest"
import {
  Arbitrary,
  Clock,
  DateTime,
  type Duration,
  Effect,
  Fiber,
  Layer,
  Logger,
  Metric,
  Schema,
  Stream
} from "effect"
import { TestClock } from "effect/testing"
import { gzipSync } from "node:zlib"
import { Connection, ConnectionJournal, LiveStream, LiveStreamConfig, TokenProvider } from "../src/index.ts"

const int = (minimum: number, maximum: number) =>
  Arbitrary.schema(Schema.Int.check(Schema.isBetween({ minimum, maximum })))

const statuses = [401, 409, 429, 500, 503, 404, 424] as const
const fatal = new Set([404, 424])

/**
 * One scripted attempt: refused with a status (a 429 or 503 perhaps with Retry-After), refused
 * by the network, or streamed then lost.
 */
interface Scripted {
  readonly kind: "status" | "refused" | "ended" | "lost"
  readonly status: number
  readonly streamMillis: number
  readonly retryAfter: number | undefined
}

const scripted: Arbitrary.Arbitrary<Scripted> = Arbitrary.map(
  Arbitrary.all([int(0, 9), int(0, statuses.length - 1), int(1, 400_000), int(0, 400_000)]),
  ([k, s, ms, retryAfter]) => ({
    kind: k < 3 ? "status" : k < 4 ? "refused" : k < 7 ? "ended" : "lost",
    // Fatal statuses are rarer, so scripts get long before they stop.
    status: statuses[k === 0 ? s : s % 5],
    streamMillis: ms,
    // Half the time the server says when to come back, up to almost 7 minutes.
    retryAfter: retryAfter % 2 === 0 ? retryAfter : undefined
  })
)

const record = (n: number) =>
  gzipSync(`{"hitIdHigh":${2n ** 63n + BigInt(n)},"hitIdLow":${n},"timeGMT":1}\r\n`)

interface Event {
  readonly slot: number
  readonly openedAt: number
  endedAt: number
  /** The server's Retry-After, when the attempt was a 429 or 503 that sent one. */
  retryAfter: number | undefined
  /** The scripted connection is over (the client may not have noticed yet). */
  ended: boolean
}

const testConnection = (scripts: ReadonlyArray<ReadonlyArray<Scripted>>, events: Array<Event>) => {
  const next = scripts.map(() => 0)
  let hitNumber = 0
  return Layer.succeed(
    Connection.Connection,
    Connection.Connection.of({
      enable: Effect.succeed("enabled"),
      open: (slot) =>
        Effect.gen(function* () {
          const openedAt = yield* Clock.currentTimeMillis
          const event: Event = { slot, openedAt, endedAt: openedAt, retryAfter: undefined, ended: false }
          events.push(event)
          const s = scripts[slot][next[slot]++]
          // Out of script: a healthy connection that stays open.
          if (s === undefined) return { url: "test://", bytes: Stream.never }
          if (s.kind === "status" || s.kind === "refused") {
            event.ended = true
            if (s.kind === "status" && (s.status === 429 || s.status === 503)) event.retryAfter = s.retryAfter
            return yield* new Connection.ConnectionRefused({
              end:
                s.kind === "status"
                  ? ReconnectPolicy.ConnectionEnd.HttpStatus({
                      status: s.status,
                      retryAfterMillis: s.retryAfter
                    })
                  : ReconnectPolicy.ConnectionEnd.NetworkError({
                      streamedMillis: 0,
                      message: "ECONNREFUSED"
                    }),
              message: "scripted"
            })
          }
          const markEnd = Effect.flatMap(Clock.currentTimeMillis, (t) =>
            Effect.sync(() => {
              event.endedAt = t
              event.ended = true
            })
          )
          const body = Stream.make(new Uint8Array(record(hitNumber++))).pipe(
            Stream.concat(Stream.fromEffectDrain(Effect.sleep(s.streamMillis))),
            Stream.concat(
              s.kind === "ended"
                ? Stream.fromEffectDrain(markEnd)
                : Stream.fromEffectDrain(markEnd).pipe(
                    Stream.concat(Stream.fail(new Connection.ConnectionLost({ message: "reset" })))
                  )
            )
          )
          return { url: "test://", bytes: body }
        })
    })
  )
}

const tokens = Layer.succeed(
  TokenProvider.TokenProvider,
  TokenProvider.TokenProvider.of({
    get: Effect.die("unused"),
    invalidate: Effect.void,
    fetches: Effect.succeed(0)
  })
)

const configFor = (connections: number, min: number, max: number) =>
  Config.decode({
    url: "https://livestream.adobe.net/api/1/stream/test",
    clientId: "c",
    // Client credentials: a 401 asks for a fresh token (a static token's 401 is fatal at once).
    clientSecret: "s",
    maxConnections: connections,
    connections,
    minReconnectDelay: `${min}ms`,
    maxReconnectDelay: `${max}ms`,
    healthyAfter: "5m"
  })

describe("LiveStream reconnect spacing (TestClock)", () => {
  it.effect.prop(
    "no slot ever starts an attempt sooner than minReconnectDelay after its last loss, nor sooner than the server's Retry-After; the loop never looks stuck to health",
    [
      int(1, 3),
      int(1_000, 120_000),
      Arbitrary.array(Arbitrary.array(scripted, { maxLength: 12 }), { minLength: 3, maxLength: 3 })
    ],
    ([connections, min, scripts]) =>
      Effect.gen(function* () {
        const config = yield* configFor(connections, min, min * 10)
        const events: Array<Event> = []
        const layer = LiveStream.layer.pipe(
          Layer.provide([
            testConnection(scripts, events),
            tokens,
            ConnectionJournal.layerMemory,
            LiveStreamConfig.layerValue(config)
          ])
        )
        let service: LiveStream.LiveStream["Service"] | undefined
        const fiber = yield* Effect.gen(function* () {
          const live = yield* LiveStream.LiveStream
          service = live
          yield* Stream.runDrain(live.hits)
        }).pipe(Effect.provide(layer), Effect.exit, Effect.forkChild)
        const expected = scripts.slice(0, connections).reduce((n, s) => n + s.length + 1, 0)
        for (let i = 0; i < 2_000 && fiber.pollUnsafe() === undefined && events.length < expected; i++) {
          yield* TestClock.adjust("30 seconds")
          // Real zlib work happens off the fiber: give it a moment of real time.
          yield* TestClock.withLive(Effect.sleep(1))
          if (service !== undefined) {
            // Only a slot stopped by a fatal status may be unhealthy: none is ever stuck. A slot
            // whose attempt waits on real zlib work can look late on a loaded machine: it gets
            // real time (up to 10 s) to catch up, the test clock standing still; a stuck one never does.
            const stuck = Effect.map(service.health, (h) =>
              h.problems.map((p) => p.problem).filter((p) => !p.startsWith("stopped: HTTP"))
            )
            let problems = yield* stuck
            for (let wait = 0; problems.length > 0 && wait < 500; wait++) {
              yield* TestClock.withLive(Effect.sleep(20))
              problems = yield* stuck
            }
            assert.deepStrictEqual(problems, [], JSON.stringify(problems))
          }
        }
        yield* Fiber.interrupt(fiber)

        let fatalSeen = false
        for (let slot = 0; slot < connections; slot++) {
          const mine = events.filter((e) => e.slot === slot)
          for (let i = 1; i < mine.length; i++) {
            const gap = mine[i].openedAt - mine[i - 1].endedAt
            assert.isAtLeast(gap, min, `slot ${slot}, attempt ${i + 1}: ${gap} ms after the loss`)
            const asked = mine[i - 1].retryAfter
            if (asked !== undefined) {
              // Clock times are sums of fractional delays: compare to the microsecond.
              assert.isAtLeast(
                gap + 0.001,
                asked,
                `slot ${slot}, attempt ${i + 1}: ${gap} ms, the server asked for ${asked}`
              )
            }
          }
          const script = scripts[slot]
          const fatalAt = script.findIndex((s) => s.kind === "status" && fatal.has(s.status))
          if (fatalAt >= 0 && fatalAt < mine.length) fatalSeen = true
          // A fatal status is never retried on its slot.
          if (fatalAt >= 0) assert.isAtMost(mine.length, fatalAt + 1)
        }
        if (!fatalSeen) {
          // Without a fatal status every slot worked through its whole script.
          assert.strictEqual(events.length, expected)
        }
      }),
    { timeout: 120_000, arbitrary: { runs: 40 } }
  )
})

/** Log lines captured as text, level first. */
const captureLogs = () => {
  const lines: Array<string> = []
  const layer = Logger.layer([
    Logger.make((options) => {
      const message = Array.isArray(options.message) ? options.message.join(" ") : String(options.message)
      lines.push(`${options.logLevel}: ${message}`)
    })
  ])
  return { lines, layer }
}

const runScript = (script: ReadonlyArray<Scripted>, input: Record<string, unknown>) =>
  Effect.gen(function* () {
    const config = yield* Config.decode({
      url: "https://livestream.adobe.net/api/1/stream/test",
      clientId: "c",
      clientSecret: "s",
      ...input
    })
    const events: Array<Event> = []
    const logs = captureLogs()
    const layer = LiveStream.layer.pipe(
      Layer.provide([
        testConnection([script], events),
        tokens,
        ConnectionJournal.layerMemory,
        LiveStreamConfig.layerValue(config)
      ])
    )
    return { config, events, logs, layer }
  })

/**
 * Advances the TestClock in steps until `done`. Before each step, waits (in real time, bounded)
 * for the client to notice a scripted end: decoding runs on zlib's thread, and a clock that ran
 * ahead meanwhile would stretch the connection's length.
 */
const drive = (events: ReadonlyArray<Event>, done: () => boolean, step: Duration.Input) =>
  Effect.gen(function* () {
    const live = yield* LiveStream.LiveStream
    for (let i = 0; i < 1_000 && !done(); i++) {
      for (let j = 0; j < 2_000; j++) {
        const last = events[events.length - 1]
        const [slot] = yield* live.slots
        if (last === undefined || !last.ended || slot.state._tag !== "Streaming") break
        yield* TestClock.withLive(Effect.sleep(1))
      }
      yield* TestClock.adjust(step)
      yield* TestClock.withLive(Effect.sleep(1))
    }
  })

const step = (scripted: Partial<Scripted> & Pick<Scripted, "kind">): Scripted => ({
  status: 200,
  streamMillis: 1,
  retryAfter: undefined,
  ...scripted
})

describe("LiveStream status and gaps (TestClock)", () => {
  it.effect("a 429 asking for 120 s waits 120 s, and the status says so", () =>
    Effect.gen(function* () {
      const { events, layer } = yield* runScript(
        [step({ kind: "status", status: 429, retryAfter: 120_000 })],
        {
          minReconnectDelay: "60s"
        }
      )
      yield* Effect.gen(function* () {
        const live = yield* LiveStream.LiveStream
        yield* Effect.forkChild(Stream.runDrain(live.hits))
        yield* TestClock.adjust("1 second")
        const [slot] = yield* live.slots
        assert.strictEqual(slot.state._tag, "Waiting")
        if (slot.state._tag === "Waiting") {
          assert.strictEqual(slot.state.reason, "HTTP 429, the server asked for 120 s")
          assert.strictEqual(
            DateTime.toEpochMillis(slot.state.until) - events[0].endedAt,
            120_000,
            "max(60 s + jitter, 120 s)"
          )
        }
        yield* TestClock.adjust("118 seconds")
        assert.strictEqual(events.length, 1, "not before the server asked")
        yield* TestClock.adjust("2 seconds")
        assert.strictEqual(events.length, 2)
        yield* live.stop
      }).pipe(Effect.provide(layer))
    })
  )

  it.effect("a Retry-After past an hour is cut to an hour, and the cut is logged", () =>
    Effect.gen(function* () {
      const { events, logs, layer } = yield* runScript(
        [step({ kind: "status", status: 503, retryAfter: 7_200_000 })],
        { minReconnectDelay: "60s" }
      )
      yield* Effect.gen(function* () {
        const live = yield* LiveStream.LiveStream
        yield* Effect.forkChild(Stream.runDrain(live.hits))
        yield* TestClock.adjust("1 second")
        const [slot] = yield* live.slots
        assert.strictEqual(
          slot.state._tag === "Waiting" && DateTime.toEpochMillis(slot.state.until) - events[0].endedAt,
          3_600_000
        )
        const cut = logs.lines.filter((l) =>
          l.includes("the server asked to retry after 2h; waiting the 1h most instead")
        )
        assert.strictEqual(cut.length, 1, logs.lines.join("\n"))
        assert.match(cut[0], /^Warn/)
        yield* TestClock.adjust("1 hour")
        assert.strictEqual(events.length, 2)
        yield* live.stop
      }).pipe(Effect.provide(layer), Effect.provide(logs.layer))
    })
  )

  it.effect(
    "each gap is shown (status, hitstream_gap_seconds); one past the backfill window warns once, with the remedy",
    () =>
      Effect.gen(function* () {
        const { events, logs, layer } = yield* runScript(
          [
            step({ kind: "ended", streamMillis: 10_000 }),
            step({ kind: "status", status: 503 }),
            step({ kind: "status", status: 503 })
          ],
          { minReconnectDelay: "60s", maxReconnectDelay: "150s", backfillWindow: "100s" }
        )
        yield* Effect.gen(function* () {
          const live = yield* LiveStream.LiveStream
          yield* Effect.forkChild(Stream.runDrain(live.hits))
          yield* drive(events, () => events.length >= 4, "1 second")
          assert.strictEqual(events.length, 4)
          const gap = events[3].openedAt - events[0].endedAt
          // 60 s, then 120 s, then 150 s, each plus up to 20%.
          assert.isAtLeast(gap, 330_000)
          assert.isAtMost(gap, 396_000 + 1_000)
          const [slot] = yield* live.slots
          assert.strictEqual(slot.state._tag, "Streaming")
          if (slot.state._tag === "Streaming") assert.strictEqual(slot.state.gapMillis, gap)
          assert.strictEqual(slot.lastGapSeconds, gap / 1000)
          const gauge = yield* Metric.value(Metric.withAttributes(LiveStream.metrics.gap, { slot: "0" }))
          assert.strictEqual(gauge.value, gap / 1000)
          const warnings = logs.lines.filter((l) => l.includes("past the 100 s the server backfills"))
          assert.strictEqual(warnings.length, 1, logs.lines.join("\n"))
          assert.match(warnings[0], /^Warn/)
          assert.include(warnings[0], "may be lost")
          assert.include(warnings[0], "--reset smallest")
          yield* live.stop
        }).pipe(Effect.provide(layer), Effect.provide(logs.layer))
      })
  )

  it.effect(
    "in the client's loop, a connection that delivered hits for minReconnectDelay resets the growth",
    () =>
      Effect.gen(function* () {
        const { events, layer } = yield* runScript(
          [
            step({ kind: "status", status: 503 }),
            step({ kind: "status", status: 503 }),
            // Streams its one hit, then stays for 61 s: healthy.
            step({ kind: "lost", streamMillis: 61_000 }),
            step({ kind: "status", status: 503 })
          ],
          { minReconnectDelay: "60s" }
        )
        yield* Effect.gen(function* () {
          const live = yield* LiveStream.LiveStream
          yield* Effect.forkChild(Stream.runDrain(live.hits))
          yield* drive(events, () => events.length >= 5, "1 second")
          assert.strictEqual(events.length, 5)
          const waits = events.slice(1).map((e, i) => e.openedAt - events[i].endedAt)
          assert.isAtLeast(waits[1], 120_000, "the second failure in a row doubles")
          assert.isAtMost(waits[2], 72_000 + 1_000, "after the healthy connection: back to the minimum")
          yield* live.stop
        }).pipe(Effect.provide(layer))
      })
  )
})

describe("LiveStream after a fatal end (TestClock)", () => {
  it.effect("a slot stopped because another slot failed is Idle, not waiting past its reconnect", () =>
    Effect.gen(function* () {
      const config = yield* configFor(3, 1_000, 10_000)
      const events: Array<Event> = []
      const layer = LiveStream.layer.pipe(
        Layer.provide([
          testConnection(
            [[], [step({ kind: "status", status: 401 })], [step({ kind: "status", status: 404 })]],
            events
          ),
          tokens,
          ConnectionJournal.layerMemory,
          LiveStreamConfig.layerValue(config)
        ])
      )
      yield* Effect.gen(function* () {
        const live = yield* LiveStream.LiveStream
        const exit = yield* Effect.exit(Stream.runDrain(live.hits))
        assert.isTrue(exit._tag === "Failure", "the 404 ends the stream")
        yield* TestClock.adjust("30 seconds")
        const health = yield* live.health
        assert.deepStrictEqual(
          health.problems.map((p) => p.slot),
          [2],
          JSON.stringify(health.problems)
        )
        const slots = yield* live.slots
        assert.deepStrictEqual(
          slots.map((s) => s.state._tag),
          ["Idle", "Idle", "Failed"]
        )
      }).pipe(Effect.provide(layer))
    })
  )
})
