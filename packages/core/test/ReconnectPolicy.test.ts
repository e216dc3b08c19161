import { assert, describe, it } from "@effect/vitest"
import { Arbitrary, Clock, Duration, Effect, Exit, Fiber, Schedule, Schema } from "effect"
import { TestClock } from "effect/testing"
import { ReconnectPolicy } from "../src/index.ts"

const { ConnectionEnd } = ReconnectPolicy

const int = (minimum: number, maximum: number) =>
  Arbitrary.schema(Schema.Int.check(Schema.isBetween({ minimum, maximum })))

const statuses = [401, 408, 409, 429, 500, 502, 503, 504, 400, 403, 404, 405, 406, 424, 505] as const
const fatal = new Set([400, 403, 404, 405, 406, 424, 505])

/** A scripted attempt: how it ends, for how long it streamed first, and what it delivered. */
interface Scripted {
  readonly kind: number
  readonly status: number
  readonly streamedMillis: number
  readonly hits: number
  /** The server's Retry-After, in milliseconds, when it sends one. */
  readonly retryAfter: number | undefined
}

const scripted: Arbitrary.Arbitrary<Scripted> = Arbitrary.map(
  Arbitrary.all([
    int(0, 9),
    int(0, statuses.length - 1),
    int(0, 12),
    int(0, 600_000),
    int(0, 3),
    int(0, 7_200_000)
  ]),
  ([kind, s, scale, ms, hits, retryAfter]) => ({
    kind,
    status: statuses[s],
    // Mostly short connections, sometimes long ones that count as healthy.
    streamedMillis: scale < 4 ? 0 : scale < 10 ? ms % 30_000 : ms,
    hits: hits === 0 ? 0 : hits * 1000,
    // Sometimes none, sometimes short, sometimes past the one-hour cap.
    retryAfter: retryAfter % 3 === 0 ? undefined : retryAfter % 2 === 0 ? retryAfter % 300_000 : retryAfter
  })
)

const endOf = (s: Scripted): ReconnectPolicy.ConnectionEnd => {
  switch (s.kind) {
    case 0:
    case 1:
      return ConnectionEnd.HttpStatus({ status: s.status, retryAfterMillis: s.retryAfter })
    case 2:
    case 3:
      return ConnectionEnd.NetworkError({
        streamedMillis: s.streamedMillis,
        message: "ECONNRESET",
        hits: s.hits
      })
    case 4:
      return ConnectionEnd.Stalled({ streamedMillis: s.streamedMillis, idleMillis: 30_000, hits: s.hits })
    default:
      return ConnectionEnd.Ended({ streamedMillis: s.streamedMillis, hits: s.hits })
  }
}

const optionsArb = Arbitrary.map(
  Arbitrary.all([int(0, 120_000), int(0, 900_000), int(1_000, 600_000), int(0, 1)]),
  ([min, extra, healthyAfter, explicit]) => ({
    minReconnectDelay: min,
    maxReconnectDelay: min + extra,
    healthyAfter: explicit === 1 ? healthyAfter : undefined
  })
)

/** What the server asked for, as the policy honours it: on a 429 or 503, up to an hour. */
const honoured = (end: ReconnectPolicy.ConnectionEnd) =>
  end._tag === "HttpStatus" &&
  (end.status === 429 || end.status === 503) &&
  end.retryAfterMillis !== undefined
    ? Math.min(end.retryAfterMillis, 3_600_000)
    : 0

/** The healthy rule, restated: hits delivered for healthyAfter, and never under 5 s. */
const healthyEnd = (options: ReconnectPolicy.Options, end: ReconnectPolicy.ConnectionEnd) =>
  end._tag !== "HttpStatus" &&
  (end.hits ?? 0) > 0 &&
  end.streamedMillis >= Math.max(options.healthyAfter, 5_000)

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
    "never reconnects sooner than minReconnectDelay or the server's Retry-After, nor later than max plus jitter (or the capped Retry-After); stops on fatal; resets only when healthy",
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
          const healthy = healthyEnd(options, r.end)
          failures = healthy ? 0 : failures + 1
          // Whole milliseconds, so clock arithmetic never lands a hair before what was asked.
          assert.isTrue(Number.isInteger(Duration.toMillis(r.decision!.delay)), "a whole number of ms")
          const next = records[i + 1]
          if (next === undefined) continue
          const waited = next.attemptAt - r.lossAt
          const asked = honoured(r.end)
          assert.isAtLeast(waited, options.minReconnectDelay, "the 60-second rule")
          assert.isAtLeast(waited, asked, "never sooner than the server asked")
          assert.isAtMost(
            waited,
            Math.max(options.maxReconnectDelay * (1 + options.maxJitter), asked) + 1,
            "never past max + jitter, or the capped Retry-After"
          )
          if (asked > 0) {
            assert.strictEqual(
              r.decision!.retryAfterCapped,
              r.end._tag === "HttpStatus" && r.end.retryAfterMillis! > 3_600_000
            )
            assert.include(r.decision!.reason, "the server asked for")
          } else if (healthy) {
            assert.isAtMost(
              waited,
              options.minReconnectDelay * (1 + options.maxJitter) + 1,
              "reset after healthy"
            )
          } else {
            const base = Math.min(options.minReconnectDelay * 2 ** (failures - 1), options.maxReconnectDelay)
            assert.isAtLeast(waited, base, "consecutive failures grow the delay")
          }
          if (!healthy && asked === 0) {
            const base = Math.min(options.minReconnectDelay * 2 ** (failures - 1), options.maxReconnectDelay)
            assert.isAtMost(waited, base * (1 + options.maxJitter) + 1, "no more than the growth asks")
          }
          assert.strictEqual(r.decision!.consecutiveFailures, failures)
        }
        assert.isTrue(Exit.isSuccess(exit))
      }),
    { arbitrary: { runs: 200 } }
  )

  it.effect.prop(
    "with the default maxReconnectDelay, the policy's own wait never exceeds the backfill window",
    [int(1, 180_000), int(10_000, 900_000), Arbitrary.array(scripted, { maxLength: 25 })],
    ([min, window, script]) =>
      Effect.gen(function* () {
        const options = yield* ReconnectPolicy.makeOptions({
          minReconnectDelay: Math.min(min, window / 1.2),
          backfillWindow: window
        })
        const { records } = yield* run(
          options,
          // Only retryable ends: no fatal statuses, no Retry-After (the server may ask for more).
          script.map((s) => ({
            ...s,
            status: s.status === 401 || fatal.has(s.status) ? 503 : s.status,
            retryAfter: undefined
          }))
        )
        for (let i = 1; i < records.length; i++) {
          const waited = records[i].attemptAt - records[i - 1].lossAt
          assert.isAtMost(waited, window + 1, `wait ${i}: ${waited} ms, window ${window} ms`)
        }
      }),
    { arbitrary: { runs: 100 } }
  )

  it.effect.prop(
    "an accept-and-drop connection (no hits, or under 5 s) never resets the growth",
    [
      optionsArb,
      Arbitrary.array(
        Arbitrary.map(Arbitrary.all([int(0, 1), int(0, 600_000), int(1, 1000)]), ([kind, ms, hits]) =>
          kind === 0
            ? ConnectionEnd.Ended({ streamedMillis: ms, hits: 0 })
            : ConnectionEnd.NetworkError({ streamedMillis: ms % 5_000, hits, message: "reset" })
        ),
        { minLength: 1, maxLength: 20 }
      )
    ],
    ([input, ends]) =>
      Effect.gen(function* () {
        const options = yield* ReconnectPolicy.makeOptions({ ...input, healthyAfter: 0 })
        let state = ReconnectPolicy.initialState
        let previous = 0
        for (let i = 0; i < ends.length; i++) {
          const result = ReconnectPolicy.step(options, state, ends[i], 0)
          assert.isTrue(Array.isArray(result))
          const [decision, next] = result as readonly [ReconnectPolicy.Decision, ReconnectPolicy.State]
          assert.strictEqual(decision.consecutiveFailures, i + 1)
          const delay = Duration.toMillis(decision.delay)
          assert.isAtLeast(delay, previous, "the wait never shrinks")
          previous = delay
          state = next
        }
      })
  )

  it("a connection that delivered hits for minReconnectDelay resets the growth", () => {
    const options = { ...ReconnectPolicy.defaults, maxJitter: 0 }
    let state: ReconnectPolicy.State = { failures: 4, authFailures: 0 }
    const result = ReconnectPolicy.step(
      options,
      state,
      ConnectionEnd.NetworkError({ streamedMillis: 60_000, hits: 1, message: "reset" }),
      0
    )
    const [decision, next] = result as readonly [ReconnectPolicy.Decision, ReconnectPolicy.State]
    assert.strictEqual(decision.consecutiveFailures, 0)
    assert.strictEqual(Duration.toMillis(decision.delay), 60_000)
    state = next
    // The same length without a hit is a failure.
    const empty = ReconnectPolicy.step(options, state, ConnectionEnd.Ended({ streamedMillis: 60_000 }), 0)
    assert.strictEqual(
      (empty as readonly [ReconnectPolicy.Decision, ReconnectPolicy.State])[0].consecutiveFailures,
      1
    )
  })

  it("the soak trial's drops every 20 to 40 s with hits reset the growth (issue 17: 5.7, 10.7, 20, 42, 94 s)", () => {
    const options = {
      ...ReconnectPolicy.defaults,
      minReconnectDelay: 5_000,
      maxReconnectDelay: 150_000,
      healthyAfter: 5_000,
      maxJitter: 0
    }
    let state = ReconnectPolicy.initialState
    const delays: Array<number> = []
    for (const streamedMillis of [20_000, 40_000, 25_000, 33_000, 21_000]) {
      const result = ReconnectPolicy.step(
        options,
        state,
        ConnectionEnd.Ended({ streamedMillis, hits: 60_000 }),
        0
      )
      const [decision, next] = result as readonly [ReconnectPolicy.Decision, ReconnectPolicy.State]
      delays.push(Duration.toMillis(decision.delay))
      state = next
    }
    assert.deepStrictEqual(delays, [5_000, 5_000, 5_000, 5_000, 5_000])
  })

  it("a gap past the backfill window warns, naming the gap, the window and the remedy", () => {
    const options = ReconnectPolicy.defaults
    assert.isUndefined(ReconnectPolicy.gapWarning(options, 180_000))
    const warning = ReconnectPolicy.gapWarning(options, 420_000)!
    assert.include(warning, "420 s without a stream")
    assert.include(warning, "180 s")
    assert.include(warning, "may be lost")
    assert.include(warning, "--reset smallest")
    assert.include(warning, "maxConnections")
  })

  it("a 401 to a static token is fatal at once, saying that static tokens cannot refresh", () => {
    const result = ReconnectPolicy.step(
      { ...ReconnectPolicy.defaults, staticToken: true },
      ReconnectPolicy.initialState,
      ConnectionEnd.HttpStatus({ status: 401, description: "token expired" }),
      0
    )
    assert.instanceOf(result, ReconnectPolicy.StreamFatalError)
    const error = result as ReconnectPolicy.StreamFatalError
    assert.strictEqual(error.reason._tag, "AuthRejected")
    assert.include(error.message, "static tokens cannot refresh")
    assert.include(error.message, "client credentials")
    assert.include(error.message, "token expired")
  })

  it("a 429 asking for 120 s waits 120 s and says so; past an hour it is capped", () => {
    const options = { ...ReconnectPolicy.defaults, maxJitter: 0 }
    const [decision] = ReconnectPolicy.step(
      options,
      ReconnectPolicy.initialState,
      ConnectionEnd.HttpStatus({ status: 429, retryAfterMillis: 120_000 }),
      0
    ) as readonly [ReconnectPolicy.Decision, ReconnectPolicy.State]
    assert.strictEqual(Duration.toMillis(decision.delay), 120_000)
    assert.strictEqual(decision.reason, "HTTP 429, the server asked for 120 s")
    assert.isFalse(decision.retryAfterCapped)
    const [capped] = ReconnectPolicy.step(
      options,
      ReconnectPolicy.initialState,
      ConnectionEnd.HttpStatus({ status: 503, retryAfterMillis: 86_400_000 }),
      0
    ) as readonly [ReconnectPolicy.Decision, ReconnectPolicy.State]
    assert.strictEqual(Duration.toMillis(capped.delay), 3_600_000)
    assert.isTrue(capped.retryAfterCapped)
    // Retry-After on another status is not HTTP's convention: the policy's delay alone.
    const [other] = ReconnectPolicy.step(
      options,
      ReconnectPolicy.initialState,
      ConnectionEnd.HttpStatus({ status: 500, retryAfterMillis: 600_000 }),
      0
    ) as readonly [ReconnectPolicy.Decision, ReconnectPolicy.State]
    assert.strictEqual(Duration.toMillis(other.delay), 60_000)
  })

  it.effect("waits 60 s after a drop, on the test clock, in milliseconds of real time", () =>
    Effect.gen(function* () {
      const options = yield* ReconnectPolicy.makeOptions()
      const { records } = yield* run(options, [
        { kind: 9, status: 0, streamedMillis: 10_000, hits: 0, retryAfter: undefined },
        { kind: 0, status: 503, streamedMillis: 0, hits: 0, retryAfter: undefined },
        { kind: 0, status: 409, streamedMillis: 0, hits: 0, retryAfter: undefined }
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
    assert.deepStrictEqual(delays, [60_000, 120_000, 150_000, 150_000, 150_000])
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
    assert.strictEqual(error.reason._tag, reason)
    assert.include(error.message, hint)
    assert.include(error.message, "from server")
  })

  it("restart-safe spacing: a restarted process waits out the rest of the minimum", () => {
    const options = ReconnectPolicy.defaults
    assert.strictEqual(ReconnectPolicy.remainingAfterRestart(options, 1_000_000, 1_001_000), 59_000)
    assert.strictEqual(ReconnectPolicy.remainingAfterRestart(options, 1_000_000, 1_100_000), 0)
    // A clock that went backwards never makes the wait longer than the minimum.
    assert.strictEqual(ReconnectPolicy.remainingAfterRestart(options, 2_000_000, 1_000_000), 60_000)
  })
})
