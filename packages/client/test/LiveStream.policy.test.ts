// The 60-second rule at the client level: the real LiveStream loop, with a scripted Connection
// in place of the network, on the TestClock. Minutes of reconnect spacing run in milliseconds.
import { Config, ReconnectPolicy } from "@hitstream/core"
import { assert, describe, it } from "@effect/vitest"
import { Arbitrary, Clock, Effect, Fiber, Layer, Schema, Stream } from "effect"
import { TestClock } from "effect/testing"
import { gzipSync } from "node:zlib"
import { Connection, ConnectionJournal, LiveStream, LiveStreamConfig, TokenProvider } from "../src/index.ts"

const int = (minimum: number, maximum: number) =>
  Arbitrary.schema(Schema.Int.check(Schema.isBetween({ minimum, maximum })))

const statuses = [401, 409, 429, 500, 503, 404, 424] as const
const fatal = new Set([404, 424])

/** One scripted attempt: refused with a status, refused by the network, or streamed then lost. */
interface Scripted {
  readonly kind: "status" | "refused" | "ended" | "lost"
  readonly status: number
  readonly streamMillis: number
}

const scripted: Arbitrary.Arbitrary<Scripted> = Arbitrary.map(
  Arbitrary.all([int(0, 9), int(0, statuses.length - 1), int(1, 400_000)]),
  ([k, s, ms]) => ({
    kind: k < 3 ? "status" : k < 4 ? "refused" : k < 7 ? "ended" : "lost",
    // Fatal statuses are rarer, so scripts get long before they stop.
    status: statuses[k === 0 ? s : s % 5],
    streamMillis: ms
  })
)

const record = (n: number) =>
  gzipSync(`{"hitIdHigh":${2n ** 63n + BigInt(n)},"hitIdLow":${n},"timeGMT":1}\r\n`)

interface Event {
  readonly slot: number
  readonly openedAt: number
  endedAt: number
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
          const event: Event = { slot, openedAt, endedAt: openedAt }
          events.push(event)
          const s = scripts[slot][next[slot]++]
          // Out of script: a healthy connection that stays open.
          if (s === undefined) return { url: "test://", bytes: Stream.never }
          if (s.kind === "status" || s.kind === "refused") {
            return yield* new Connection.ConnectionRefused({
              end:
                s.kind === "status"
                  ? ReconnectPolicy.ConnectionEnd.HttpStatus({ status: s.status })
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
    "no slot ever starts an attempt sooner than minReconnectDelay after its last loss",
    [
      int(1, 3),
      int(1_000, 120_000),
      Arbitrary.array(Arbitrary.array(scripted, { maxLength: 12 }), { minLength: 3, maxLength: 3 })
    ],
    ([connections, min, scripts]) =>
      Effect.gen(function* () {
        const config = yield* configFor(connections, min, min * 10)
        const events: Array<Event> = []
        const layer = LiveStream.LiveStream.layer.pipe(
          Layer.provide([
            testConnection(scripts, events),
            tokens,
            ConnectionJournal.ConnectionJournal.layerMemory,
            LiveStreamConfig.LiveStreamConfig.layerValue(config)
          ])
        )
        const fiber = yield* Effect.gen(function* () {
          const live = yield* LiveStream.LiveStream
          yield* Stream.runDrain(live.hits)
        }).pipe(Effect.provide(layer), Effect.exit, Effect.forkChild)
        const expected = scripts.slice(0, connections).reduce((n, s) => n + s.length + 1, 0)
        for (let i = 0; i < 2_000 && fiber.pollUnsafe() === undefined && events.length < expected; i++) {
          yield* TestClock.adjust("10 seconds")
          // Real zlib work happens off the fiber: give it a moment of real time.
          yield* TestClock.withLive(Effect.sleep(1))
        }
        yield* Fiber.interrupt(fiber)

        let fatalSeen = false
        for (let slot = 0; slot < connections; slot++) {
          const mine = events.filter((e) => e.slot === slot)
          for (let i = 1; i < mine.length; i++) {
            const gap = mine[i].openedAt - mine[i - 1].endedAt
            assert.isAtLeast(gap, min, `slot ${slot}, attempt ${i + 1}: ${gap} ms after the loss`)
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
    { timeout: 60_000, arbitrary: { runs: 40 } }
  )
})
