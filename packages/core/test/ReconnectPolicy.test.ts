import { assert, describe, it } from "@effect/vitest"
import { Arbitrary, Clock, Duration, Effect, Exit, Fiber, Schedule, Schema } from "effect"
import { TestClock } from "effect/testing"
import { ReconnectPolicy } from "../src/index.ts"

const { ConnectionEnd } = ReconnectPolicy

const int = (minimum: number, maximum: number) =>
  Arbitrary.schema(Schema.Int.check(Schema.isBetween({ minimum, maximum })))

const statuses = [401, 408, 409, 429, 500, 502, 503, 504, 400, 403, 404, 405, 406, 424, 505] as const
const fatal = new Set([400, 403, 404, 405, 406, 424, 505])

/** A scripted attempt: how it ends, and for how long it streamed first. */
interface Scripted {
  readonly kind: number
  readonly status: number
  readonly streamedMillis: number
}

const scripted: Arbitrary.Arbitrary<Scripted> = Arbitrary.map(
  Arbitrary.all([int(0, 9), int(0, statuses.length - 1), int(0, 12), int(0, 600_000)]),
  ([kind, s, scale, ms]) => ({
    kind,
    status: statuses[s],
    // Mostly short connections, sometimes long ones that count as healthy.
    streamedMillis: scale < 4 ? 0 : scale < 10 ? ms % 30_000 : ms
  })
)

const endOf = (s: Scripted): ReconnectPolicy.ConnectionEnd => {
  switch (s.kind) {
    case 0:
    case 1:
      return ConnectionEnd.HttpStatus({ status: s.status })
    case 2:
    case 3:
      return ConnectionEnd.NetworkError({ streamedMillis: s.streamedMillis, message: "ECONNRESET" })
    case 4:
      return ConnectionEnd.Stalled({ streamedMillis: s.streamedMillis, idleMillis: 30_000 })
    default:
      return ConnectionEnd.Ended({ streamedMillis: s.streamedMillis })
  }
}

const optionsArb = Arbitrary.map(
  Arbitrary.all([int(0, 120_000), int(0, 900_000), int(1_000, 600_000)]),
  ([min, extra, healthyAfter]) => ({ minReconnectDelay: min, maxReconnectDelay: min + extra, healthyAfter })
)

interface Record_ {
  readonly attemptAt: number
  readonly lossAt: number
  readonly end: ReconnectPolicy.ConnectionEnd
  readonly decision?: ReconnectPolicy.Decision
}

/**
 * The real schedule, driven the way a client drives it: attempt, stream for a while on the
 * clock, report the loss, sleep the schedule's delay, attempt again.
 */
const run = (options: ReconnectPolicy.Options, script: ReadonlyArray<Scripted>) =>
  Effect.gen(function* () {
    const step = yield* Schedule.toStepWithMetadata(ReconnectPolicy.schedule(options))
    const records: Array<Record_> = []
    const loop = Effect.gen(function* () {
      for (const s of script) {
        const attemptAt = yield* Clock.currentTimeMillis
        const end = endOf(s)
        if (end._tag !== "HttpStatus") yield* Effect.sleep(Duration.millis(s.streamedMillis))
        const lossAt = yield* Clock.currentTimeMillis
        const meta = yield* step(end).pipe(
          Effect.tapError(() => Effect.sync(() => records.push({ attemptAt, lossAt, end })))
        )
        records.push({ attemptAt, lossAt, end, decision: meta.output })
      }
    })
    const fiber = yield* Effect.forkChild(Effect.exit(loop))
    while (fiber.pollUnsafe() === undefined) yield* TestClock.adjust(Duration.hours(1))
    const exit = yield* Fiber.join(fiber)
    return { records, exit }
  })

describe("ReconnectPolicy", () => {
  it.effect.prop(
    "never reconnects sooner than minReconnectDelay after a loss, nor later than max plus jitter; stops on fatal; resets when healthy",
    [optionsArb, Arbitrary.array(scripted, { maxLength: 25 })],
    ([input, script]) =>
      Effect.gen(function* () {
        const options = yield* ReconnectPolicy.makeOptions(input)
        const { records, exit } = yield* run(options, script)
        let failures = 0
        let authFailures = 0
        for (let i = 0; i < records.length; i++) {
          const r = records[i]
          const status = r.end._tag === "HttpStatus" ? r.end.status : undefined
          if (status !== undefined && fatal.has(status)) {
            assert.strictEqual(i, records.length - 1, "a fatal status is never retried")
            assert.isTrue(Exit.isFailure(exit))
            assert.include(String(exit), "StreamFatalError")
            return
          }
          if (status === 401) {
            authFailures++
            if (authFailures > options.maxAuthFailures) {
              assert.strictEqual(i, records.length - 1, "AuthRejected ends the stream")
              assert.include(String(exit), "AuthRejected")
              return
            }
            assert.isTrue(r.decision!.refreshToken, "a 401 asks for a fresh token")
          } else if (r.end._tag !== "HttpStatus" && r.end.streamedMillis > 0) {
            authFailures = 0
          }
          const healthy = r.end._tag !== "HttpStatus" && r.end.streamedMillis >= options.healthyAfter
          failures = healthy ? 0 : failures + 1
          const next = records[i + 1]
          if (next === undefined) continue
          const waited = next.attemptAt - r.lossAt
          assert.isAtLeast(waited, options.minReconnectDelay, "the 60-second rule")
          assert.isAtMost(
            waited,
            options.maxReconnectDelay * (1 + options.maxJitter) + 1,
            "never past max + jitter"
          )
          if (healthy) {
            assert.isAtMost(
              waited,
              options.minReconnectDelay * (1 + options.maxJitter) + 1,
              "reset after healthy"
            )
          } else {
            const base = Math.min(options.minReconnectDelay * 2 ** (failures - 1), options.maxReconnectDelay)
            assert.isAtLeast(waited, base, "consecutive failures grow the delay")
          }
          assert.strictEqual(r.decision!.consecutiveFailures, failures)
        }
        assert.isTrue(Exit.isSuccess(exit))
      }),
    { arbitrary: { runs: 200 } }
  )

  it.effect("waits 60 s after a drop, on the test clock, in milliseconds of real time", () =>
    Effect.gen(function* () {
      const options = yield* ReconnectPolicy.makeOptions()
      const { records } = yield* run(options, [
        { kind: 9, status: 0, streamedMillis: 10_000 },
        { kind: 0, status: 503, streamedMillis: 0 },
        { kind: 0, status: 409, streamedMillis: 0 }
      ])
      const waits = records.slice(1).map((r, i) => r.attemptAt - records[i].lossAt)
      assert.isAtLeast(waits[0], 60_000)
      assert.isAtMost(waits[0], 72_000)
      assert.isAtLeast(waits[1], 120_000, "the second failure in a row doubles the wait")
    })
  )

  it("a server that accepts and drops at once does not reset the backoff", () => {
    const options = { ...ReconnectPolicy.defaults, maxJitter: 0 }
    let state = ReconnectPolicy.initialState
    const delays: Array<number> = []
    for (let i = 0; i < 5; i++) {
      const result = ReconnectPolicy.step(options, state, ConnectionEnd.Ended({ streamedMillis: 200 }), 0.5)
      if (!Array.isArray(result)) throw new Error("unexpected fatal")
      const [decision, next] = result as readonly [ReconnectPolicy.Decision, ReconnectPolicy.State]
      delays.push(Duration.toMillis(decision.delay))
      state = next
    }
    assert.deepStrictEqual(delays, [60_000, 120_000, 240_000, 480_000, 600_000])
  })

  it.each([
    [400, "BadRequest", "maxConnections"],
    [404, "NotFound", "90 days"],
    [405, "MethodNotAllowed", "GET"],
    [406, "NotAcceptable", "gzip"],
    [424, "ApiVersionNotEnabled", "/api/2/enable/"],
    [505, "HttpVersionNotSupported", "HTTP/1.1"]
  ] as const)("status %i is fatal (%s) and says what to fix", (status, reason, hint) => {
    const result = ReconnectPolicy.step(
      ReconnectPolicy.defaults,
      ReconnectPolicy.initialState,
      ConnectionEnd.HttpStatus({ status, description: "from server" }),
      0
    )
    assert.instanceOf(result, ReconnectPolicy.StreamFatalError)
    const error = result as ReconnectPolicy.StreamFatalError
    assert.strictEqual(error.reason, reason)
    assert.include(error.message, hint)
    assert.include(error.message, "from server")
  })

  it.effect("rejects invalid options, naming the option and the value", () =>
    Effect.gen(function* () {
      const negative = yield* Effect.flip(ReconnectPolicy.makeOptions({ minReconnectDelay: -5 }))
      assert.strictEqual(negative.option, "minReconnectDelay")
      assert.include(negative.message, "-5")
      const inverted = yield* Effect.flip(
        ReconnectPolicy.makeOptions({ minReconnectDelay: "2 minutes", maxReconnectDelay: "1 minute" })
      )
      assert.strictEqual(inverted.option, "maxReconnectDelay")
      const jitter = yield* Effect.flip(ReconnectPolicy.makeOptions({ maxJitter: 3 }))
      assert.strictEqual(jitter.option, "maxJitter")
    })
  )

  it("restart-safe spacing: a restarted process waits out the rest of the minimum", () => {
    const options = ReconnectPolicy.defaults
    assert.strictEqual(ReconnectPolicy.remainingAfterRestart(options, 1_000_000, 1_001_000), 59_000)
    assert.strictEqual(ReconnectPolicy.remainingAfterRestart(options, 1_000_000, 1_100_000), 0)
    // A clock that went backwards never makes the wait longer than the minimum.
    assert.strictEqual(ReconnectPolicy.remainingAfterRestart(options, 2_000_000, 1_000_000), 60_000)
  })
})
