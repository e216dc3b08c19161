// The slot loop's reliability: supervision, health, stopping, journaled ends, the connect
// timeout, static tokens and the short-delay warning. The real LiveStream loop runs with a
// scripted Connection on the TestClock; the defect path also runs against the real simulator.
import { Config, ReconnectPolicy } from "@hitstream/core"
import { Simulator } from "@hitstream/simulator"
import { assert, describe, it } from "@effect/vitest"
import { Cause, Clock, DateTime, Duration, Effect, Exit, Fiber, Layer, Logger, Metric, Stream } from "effect"
import { TestClock } from "effect/testing"
import { gzipSync } from "node:zlib"
import {
  Connection,
  ConnectionJournal,
  LiveStream,
  LiveStreamConfig,
  NodeLiveStream,
  TokenProvider
} from "../src/index.ts"

const url = "https://livestream.adobe.net/api/1/stream/test"

const configFor = (overrides: Record<string, unknown> = {}) =>
  Config.decode({ url, clientId: "c", clientSecret: "s", minReconnectDelay: "60s", ...overrides })

const record = (n: number) =>
  new Uint8Array(gzipSync(`{"hitIdHigh":${2n ** 63n + BigInt(n)},"hitIdLow":${n},"timeGMT":1}\r\n`))

const tokens = Layer.succeed(
  TokenProvider.TokenProvider,
  TokenProvider.TokenProvider.of({
    get: Effect.die("unused"),
    invalidate: Effect.void,
    fetches: Effect.succeed(0)
  })
)

type Open = Connection.Connection["Service"]["open"]

/** LiveStream over a scripted `open`, with the memory journal exposed for inspection. */
const layerFor = (open: Open, config: Config.ClientConfig) =>
  LiveStream.layer.pipe(
    Layer.provideMerge(
      Layer.mergeAll(
        Layer.succeed(Connection.Connection, Connection.Connection.of({ open, enable: Effect.succeed("") })),
        tokens,
        ConnectionJournal.layerMemory,
        LiveStreamConfig.layerValue(config)
      )
    )
  )

/** Log lines captured as text, level first. */
const captureLogs = () => {
  const lines: Array<string> = []
  const layer = Logger.layer([
    Logger.make((options) => {
      const message = Array.isArray(options.message) ? options.message.join(" ") : String(options.message)
      const cause = options.cause.reasons.length > 0 ? ` ${Cause.pretty(options.cause)}` : ""
      lines.push(`${options.logLevel}: ${message}${cause}`)
    })
  ])
  return { lines, layer }
}

/** Advances the TestClock in steps until `done` holds (or the steps run out). */
const advanceUntil = (done: () => boolean, step: Duration.Input = "1 second", steps = 1_000) =>
  Effect.gen(function* () {
    for (let i = 0; i < steps && !done(); i++) {
      yield* TestClock.adjust(step)
      yield* TestClock.withLive(Effect.sleep(1))
    }
  })

/** One record, then an open connection that never ends (until the scope closes). */
const streaming: Open = () =>
  Effect.succeed({ url: "test://", bytes: Stream.concat(Stream.make(record(1)), Stream.never) })

describe("LiveStream supervision", () => {
  it.effect(
    "a defect in a slot (Node's synchronous ERR_INVALID_CHAR) fails the stream with LiveStreamDefect, logged with its cause; the slot is Failed and unhealthy",
    () =>
      Effect.gen(function* () {
        const config = yield* configFor()
        const logs = captureLogs()
        const thrown = Object.assign(new TypeError('Invalid character in header content ["x-api-key"]'), {
          code: "ERR_INVALID_CHAR"
        })
        let opens = 0
        const open: Open = () =>
          Effect.sync(() => {
            opens++
            throw thrown
          })
        yield* Effect.gen(function* () {
          const live = yield* LiveStream.LiveStream
          const error = yield* Effect.flip(Stream.runDrain(live.hits))
          assert.strictEqual(error._tag, "LiveStreamDefect")
          const defect = error as LiveStream.LiveStreamDefect
          assert.strictEqual(defect.slot, 0)
          assert.strictEqual(defect.cause, thrown)
          assert.include(defect.message, "Invalid character in header content")
          assert.strictEqual(opens, 1)
          const [slot] = yield* live.slots
          assert.strictEqual(slot.state._tag, "Failed")
          const health = yield* live.health
          assert.isFalse(health.ok)
          assert.include(health.problems[0].problem, "Invalid character")
          const logged = logs.lines.find((l) => l.startsWith("Error"))
          assert.isDefined(logged, logs.lines.join("\n"))
          assert.include(logged!, 'TypeError: Invalid character in header content ["x-api-key"]', "the cause")
        }).pipe(Effect.provide(layerFor(open, config)), Effect.provide(logs.layer))
      })
  )

  it.live(
    "against the simulator: a client id with a newline stops the stream (LiveStreamDefect), never hangs",
    () =>
      Effect.gen(function* () {
        const sim = yield* Simulator.Simulator
        const valid = yield* Config.decode({ url: sim.streamUrl(), clientId: sim.clientId, accessToken: "t" })
        // Past validation on purpose: the loop itself must not hang on what Node refuses.
        const config = { ...valid, clientId: `${sim.clientId}\n` }
        const exit = yield* Effect.gen(function* () {
          const live = yield* LiveStream.LiveStream
          return yield* Stream.runDrain(live.hits)
        }).pipe(
          Effect.provide(NodeLiveStream.layerWith(LiveStreamConfig.layerValue(config))),
          Effect.timeout("10 seconds"),
          Effect.exit
        )
        assert.isTrue(Exit.isFailure(exit))
        const error = Cause.squash((exit as Exit.Failure<unknown, unknown>).cause) as {
          _tag?: string
          message?: string
        }
        assert.strictEqual(error._tag, "LiveStreamDefect", String(error))
        assert.match(error.message!, /invalid character/i)
      }).pipe(Effect.provide(Simulator.layer({ gracePeriod: 200 }))),
    30_000
  )
})

describe("Retry-After against the simulator", () => {
  it.live.each([
    ["429", 429, 2 as number | string],
    ["503 with an HTTP date", 503, "date"]
  ] as const)(
    "a %s asking for 2 s is waited out, though the minimum is 0.4 s",
    ([, status, retryAfter]) =>
      Effect.gen(function* () {
        const sim = yield* Simulator.Simulator
        const config = yield* Config.decode({
          url: sim.streamUrl(),
          clientId: sim.clientId,
          clientSecret: sim.clientSecret,
          tokenUrl: sim.tokenUrl(),
          minReconnectDelay: "400ms",
          maxReconnectDelay: "600ms"
        })
        const hits = yield* Effect.gen(function* () {
          const live = yield* LiveStream.LiveStream
          const waiting = yield* Effect.forkChild(
            Effect.gen(function* () {
              // The status while waiting names the server's request.
              while (true) {
                const [slot] = yield* live.slots
                if (slot.state._tag === "Waiting") return slot.state.reason
                yield* Effect.sleep(5)
              }
            })
          )
          const hits = yield* live.hits.pipe(Stream.take(5), Stream.runCollect)
          const reason = yield* Fiber.join(waiting)
          assert.include(reason, `HTTP ${status}`)
          assert.match(reason, /the server asked for \d s/)
          return hits
        }).pipe(Effect.provide(NodeLiveStream.layerWith(LiveStreamConfig.layerValue(config))))
        assert.strictEqual(hits.length, 5)
        const log = yield* sim.log
        assert.strictEqual(log.length, 2)
        assert.strictEqual(log[0].status, status)
        const gap = log[1].at - log[0].at
        assert.isAtLeast(gap, retryAfter === "date" ? 1_000 : 2_000, `reconnected after ${gap} ms`)
        assert.isBelow(gap, 5_000)
      }).pipe(
        Effect.provide(
          Simulator.layer({
            gracePeriod: 200,
            rate: Number.POSITIVE_INFINITY,
            // An HTTP date has whole seconds: 3 s ahead is at least 2 s away.
            scenario: [
              {
                status,
                retryAfter: retryAfter === "date" ? new Date(Date.now() + 3_000).toUTCString() : retryAfter
              }
            ]
          })
        )
      ),
    30_000
  )
})

describe("LiveStream.health", () => {
  const base = { slot: 0, attempts: 1, hits: 0, lagSeconds: undefined, lastGapSeconds: undefined }
  const config = { connectTimeout: Duration.seconds(30) }

  it("is ok while slots connect, stream and wait on time; not when a slot failed or is stuck", () => {
    const now = 1_000_000
    const at = (millis: number) => DateTime.makeUnsafe(millis)
    const judge = (state: LiveStream.SlotState) => LiveStream.health([{ ...base, state }], now, config)
    assert.isTrue(judge({ _tag: "Idle" }).ok)
    assert.isTrue(judge({ _tag: "Connecting", attempt: 1, since: at(now - 39_000) }).ok)
    assert.isTrue(judge({ _tag: "Streaming", since: at(0), url: "u", gapMillis: undefined }).ok)
    assert.isTrue(
      judge({ _tag: "Waiting", until: at(now - 9_000), reason: "r", consecutiveFailures: 1, lostAt: at(0) })
        .ok
    )

    const failed = judge({ _tag: "Failed", message: "HTTP 404: gone" })
    assert.isFalse(failed.ok)
    assert.deepStrictEqual(failed.problems, [{ slot: 0, problem: "stopped: HTTP 404: gone" }])
    const connecting = judge({ _tag: "Connecting", attempt: 1, since: at(now - 41_000) })
    assert.isFalse(connecting.ok)
    assert.include(connecting.problems[0].problem, "connecting for 41 s, past the 30 s connect timeout")
    const late = judge({
      _tag: "Waiting",
      until: at(now - 11_000),
      reason: "r",
      consecutiveFailures: 1,
      lostAt: at(0)
    })
    assert.isFalse(late.ok)
    assert.include(late.problems[0].problem, "waiting 11 s past its planned reconnect")
  })

  it.effect(
    "a slot whose server never answers is cut at the connect timeout and retried: healthy throughout",
    () =>
      Effect.gen(function* () {
        const config = yield* configFor({ connectTimeout: "30s" })
        const opens: Array<number> = []
        const open: Open = () =>
          Effect.flatMap(Clock.currentTimeMillis, (t) => Effect.sync(() => opens.push(t))).pipe(
            Effect.andThen(Effect.never)
          )
        yield* Effect.gen(function* () {
          const live = yield* LiveStream.LiveStream
          yield* Effect.forkChild(Stream.runDrain(live.hits))
          let unhealthy = 0
          yield* advanceUntil(() => opens.length >= 3, "5 seconds", 200)
          for (let i = 0; i < 40; i++) {
            yield* TestClock.adjust("5 seconds")
            if (!(yield* live.health).ok) unhealthy++
          }
          assert.isAtLeast(opens.length, 3)
          // 30 s connecting, then at least 60 s after that loss.
          assert.isAtLeast(opens[1] - opens[0], 90_000)
          assert.strictEqual(unhealthy, 0)
          const [slot] = yield* live.slots
          if (slot.state._tag === "Waiting") assert.include(slot.state.reason, "no answer within 30s")
          yield* live.stop
        }).pipe(Effect.provide(layerFor(open, config)))
      })
  )
})

describe("LiveStream stop", () => {
  it.effect("stop called before hits runs is remembered: hits completes at once, no attempt", () =>
    Effect.gen(function* () {
      const config = yield* configFor()
      let opens = 0
      const open: Open = () => Effect.sync(() => opens++).pipe(Effect.andThen(streaming(0)))
      yield* Effect.gen(function* () {
        const live = yield* LiveStream.LiveStream
        yield* live.stop
        const hits = yield* Stream.runCollect(live.hits).pipe(Effect.timeout("1 second"))
        assert.strictEqual(hits.length, 0)
        assert.strictEqual(opens, 0)
        assert.strictEqual((yield* live.counters).attempts, 0)
      }).pipe(Effect.provide(layerFor(open, config)))
    })
  )

  it.effect.each([
    ["stop (a signal, --duration)", "stop"],
    ["the consumer taking what it needs (--limit)", "take"]
  ] as const)(
    "%s while connected journals a real end: a restart waits only the rest of the minimum",
    ([, how]) =>
      Effect.gen(function* () {
        const config = yield* configFor()
        yield* Effect.gen(function* () {
          const live = yield* LiveStream.LiveStream
          const journal = yield* ConnectionJournal.ConnectionJournal
          const fiber = yield* Effect.forkChild(
            how === "take" ? Stream.runDrain(Stream.take(live.hits, 2)) : Stream.runDrain(live.hits)
          )
          yield* advanceUntil(() => false, "1 second", 3)
          // Connected for a while: the heartbeat says alive.
          yield* TestClock.adjust("20 seconds")
          assert.strictEqual((yield* journal.last(0))?.alive, true)
          const stoppedAt = yield* Clock.currentTimeMillis
          if (how === "stop") yield* live.stop
          else yield* Effect.forkChild(streamSecondHit)
          yield* Fiber.join(fiber).pipe(Effect.timeout("1 second"))
          const last = yield* journal.last(0)
          assert.deepStrictEqual(last, { at: stoppedAt, alive: false })
          assert.strictEqual(ConnectionJournal.waitOnStart(last, config.policy, stoppedAt + 10_000), 50_000)
        }).pipe(Effect.provide(layerFor(openTwo, config)))
      })
  )
})

// For the take case: the slot's first hit arrives at once; the second when `streamSecondHit` runs.
let release: (() => void) | undefined
const streamSecondHit = Effect.sync(() => release?.())
const openTwo: Open = () =>
  Effect.succeed({
    url: "test://",
    bytes: Stream.concat(
      Stream.make(record(1)),
      Stream.concat(
        Stream.fromEffect(
          Effect.callback<Uint8Array>((resume) => {
            release = () => resume(Effect.succeed(record(2)))
          })
        ),
        Stream.never
      )
    )
  })

describe("LiveStream for library users", () => {
  it.effect("a 401 to a static access token is fatal at once: static tokens cannot refresh", () =>
    Effect.gen(function* () {
      const config = yield* Config.decode({ url, clientId: "c", accessToken: "t" })
      let opens = 0
      const open: Open = () =>
        Effect.suspend(() => {
          opens++
          return Effect.fail(
            new Connection.ConnectionRefused({
              end: ReconnectPolicy.ConnectionEnd.HttpStatus({ status: 401, description: "expired" }),
              message: "401"
            })
          )
        })
      yield* Effect.gen(function* () {
        const live = yield* LiveStream.LiveStream
        const error = yield* Effect.flip(Stream.runDrain(live.hits))
        assert.strictEqual(error._tag, "StreamFatalError")
        assert.include(error.message, "static tokens cannot refresh")
        assert.strictEqual(opens, 1)
      }).pipe(Effect.provide(layerFor(open, config)))
    })
  )

  it.effect("hitstream_connection_attempts_total counts an attempt as it starts", () =>
    Effect.gen(function* () {
      const config = yield* configFor()
      const open: Open = () => Effect.never
      yield* Effect.gen(function* () {
        const live = yield* LiveStream.LiveStream
        const before = (yield* Metric.value(LiveStream.metrics.attempts)).count
        yield* Effect.forkChild(Stream.runDrain(live.hits))
        yield* advanceUntil(() => false, "10 millis", 5)
        // Still connecting, and already counted.
        assert.strictEqual((yield* live.slots)[0].state._tag, "Connecting")
        assert.strictEqual((yield* Metric.value(LiveStream.metrics.attempts)).count, before + 1)
        yield* live.stop
      }).pipe(Effect.provide(layerFor(open, config)))
    })
  )

  it.effect("a minReconnectDelay below 60 s set in code logs the risk warning; 60 s does not", () =>
    Effect.gen(function* () {
      for (const [min, warns] of [
        ["5s", true],
        ["60s", false]
      ] as const) {
        const config = yield* configFor({ minReconnectDelay: min })
        const logs = captureLogs()
        yield* LiveStream.LiveStream.pipe(
          Effect.provide(layerFor(streaming, config)),
          Effect.provide(logs.layer)
        )
        const warning = logs.lines.find((l) => l.includes("below the 60s Adobe asks for"))
        assert.strictEqual(warning !== undefined, warns, `${min}: ${logs.lines.join("\n")}`)
        if (warns) assert.match(warning!, /^Warn/)
      }
    })
  )
})
