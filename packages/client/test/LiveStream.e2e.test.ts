import { Hit } from "@hitstream/core"
import { HitGenerator } from "@hitstream/simulator"
import { assert, describe, it } from "@effect/vitest"
import { Cause, Effect, Exit, Stream } from "effect"
import { Connection, LiveStream, TokenProvider } from "../src/index.ts"
import { gaps, withClient } from "./helpers.ts"

const take = (n: number) =>
  Effect.gen(function* () {
    const live = yield* LiveStream.LiveStream
    return yield* live.hits.pipe(Stream.take(n), Stream.runCollect)
  })

const expectedIds = (seed: number, n: number) =>
  Array.from({ length: n }, (_, i) => {
    const ids = HitGenerator.idsOf(seed, i)
    return `${ids.hitIdHigh}:${ids.hitIdLow}`
  })

const idsOf = (hits: ReadonlyArray<Hit.Hit>) => hits.map((h) => `${h.hitIdHigh}:${h.hitIdLow}`)

const failure = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.flatMap(Effect.exit(effect), (exit) =>
    Exit.isFailure(exit) ? Effect.succeed(Cause.squash(exit.cause) as any) : Effect.die("expected a failure")
  )

describe("LiveStream against the simulator", () => {
  it.live("streams hits with exact ids, byte-for-byte record text, in order", () =>
    withClient({ rate: Number.POSITIVE_INFINITY, totalHits: 1500 }, {}, (sim) =>
      Effect.gen(function* () {
        const hits = yield* take(1500)
        assert.deepStrictEqual(idsOf(hits), expectedIds(sim.options.seed, 1500))
        const h = hits[7]
        assert.strictEqual(
          Hit.recordText(h),
          HitGenerator.generate(sim.options.seed, 7, h.timeGMT!).text,
          "the original record text, byte for byte"
        )
        const log = yield* sim.log
        assert.strictEqual(log.length, 1)
        assert.deepStrictEqual(log[0].query, { maxConnections: "1" })
      })
    )
  )

  it.live(
    "10 forced drops with backfill duplicates: every hit exactly once, spacing respected",
    () =>
      withClient(
        {
          rate: Number.POSITIVE_INFINITY,
          totalHits: 2500,
          backfillDuplicates: 5,
          scenario: Array.from({ length: 10 }, () => ({ status: 200, after: 150, fault: "drop" as const }))
        },
        {},
        (sim) =>
          Effect.gen(function* () {
            const hits = yield* take(2500)
            assert.deepStrictEqual(idsOf(hits), expectedIds(sim.options.seed, 2500))
            const log = yield* sim.settledLog
            assert.strictEqual(log.filter((a) => a.end === "dropped").length, 10)
            assert.isAtLeast(
              log.reduce((n, a) => n + a.duplicatesSent, 0),
              50,
              "the simulator re-sent hits, and the client dropped them"
            )
            const counters = yield* (yield* LiveStream.LiveStream).counters
            assert.isAtLeast(counters.duplicates, 50)
            for (const gap of gaps(log))
              assert.isAtLeast(gap, 400, "no reconnect sooner than minReconnectDelay")
          })
      ),
    30_000
  )

  it.live.each([
    [{ status: 400 }, "BadRequest"],
    [{ status: 405 }, "MethodNotAllowed"],
    [{ status: 406 }, "NotAcceptable"],
    [{ status: 505 }, "HttpVersionNotSupported"]
  ] as const)("fatal status %j stops after exactly one attempt with %s", ([step, reason]) =>
    withClient({ scenario: [step] }, {}, (sim) =>
      Effect.gen(function* () {
        const error = yield* failure(take(1))
        assert.strictEqual(error._tag, "StreamFatalError")
        assert.strictEqual(error.reason._tag, reason)
        assert.strictEqual((yield* sim.log).length, 1)
      })
    )
  )

  it.live("404 (unknown endpoint) and 424 (not enabled for v2) say what to fix, after one attempt", () =>
    Effect.gen(function* () {
      yield* withClient(
        {},
        (sim) => ({ url: sim.streamUrl("nope") }),
        (sim) =>
          Effect.gen(function* () {
            const cause = yield* failure(take(1))
            assert.include(String(cause), "90 days")
            assert.strictEqual((yield* sim.log).length, 1)
          })
      )
      yield* withClient(
        {},
        (sim) => ({ url: sim.streamUrl("demo", 2) }),
        (sim) =>
          Effect.gen(function* () {
            const cause = yield* failure(take(1))
            assert.include(String(cause), "/api/2/enable/")
            assert.strictEqual((yield* sim.log).length, 1)
            // The fix: enable, then the same configuration streams.
            const message = yield* (yield* Connection.Connection).enable
            assert.include(message, "15 minutes")
            const hits = yield* take(3)
            assert.strictEqual(hits.length, 3)
          })
      )
    })
  )

  it.live("401: refreshes the token once, then resumes", () =>
    withClient({ scenario: [{ status: 401 }], rate: Number.POSITIVE_INFINITY, totalHits: 50 }, {}, (sim) =>
      Effect.gen(function* () {
        const hits = yield* take(50)
        assert.strictEqual(hits.length, 50)
        assert.strictEqual(yield* (yield* TokenProvider.TokenProvider).fetches, 2)
        const log = yield* sim.settledLog
        assert.deepStrictEqual(
          log.map((a) => a.status),
          [401, 200]
        )
        assert.isAtLeast(gaps(log)[0], 400)
      })
    )
  )

  it.live("409, 503 and 500 are retried with growing delays", () =>
    withClient(
      {
        scenario: [{ status: 503 }, { status: 409 }, { status: 500 }],
        rate: Number.POSITIVE_INFINITY,
        totalHits: 20
      },
      { minReconnectDelay: "200ms", maxReconnectDelay: "2s" },
      (sim) =>
        Effect.gen(function* () {
          assert.strictEqual((yield* take(20)).length, 20)
          const log = yield* sim.settledLog
          assert.deepStrictEqual(
            log.map((a) => a.status),
            [503, 409, 500, 200]
          )
          const [a, b, c] = gaps(log)
          assert.isAtLeast(a, 200)
          assert.isAtLeast(b, 400)
          assert.isAtLeast(c, 800)
        })
    )
  )

  it.live("follows a redirect to a trusted host, re-sending the headers", () =>
    withClient(
      { redirect: "first", redirectHost: "localhost", rate: Number.POSITIVE_INFINITY, totalHits: 30 },
      { trustedRedirectHosts: "127.0.0.1,localhost" },
      (sim) =>
        Effect.gen(function* () {
          assert.strictEqual((yield* take(30)).length, 30)
          const log = yield* sim.log
          assert.deepStrictEqual(
            log.map((a) => [a.listener, a.status, a.headers.authorization, a.headers.acceptEncoding]),
            [
              ["main", 302, true, "gzip"],
              ["redirect", 200, true, "gzip"]
            ]
          )
        })
    )
  )

  it.live("withholds the token from an untrusted redirect host: a fatal security stop", () =>
    withClient({ redirect: "always", redirectHost: "localhost" }, {}, (sim) =>
      Effect.gen(function* () {
        const cause = yield* failure(take(1))
        assert.include(String(cause), "RedirectRejected")
        assert.include(String(cause), "trustedRedirectHosts")
        const log = yield* sim.log
        assert.deepStrictEqual(
          log.map((a) => a.listener),
          ["main"],
          "nothing was sent to the redirect target"
        )
      })
    )
  )

  it.live(
    "a token that expires while streaming does not disconnect; the next connection gets a fresh one",
    () =>
      withClient({ tokenLifetimeSeconds: 1, rate: 100 }, {}, (sim) =>
        Effect.gen(function* () {
          const live = yield* LiveStream.LiveStream
          const tokens = yield* TokenProvider.TokenProvider
          const collected: Array<Hit.Hit> = []
          const fiber = yield* live.hits.pipe(
            Stream.runForEach((hit) => Effect.sync(() => collected.push(hit))),
            Effect.forkChild
          )
          yield* Effect.sleep(1500)
          assert.strictEqual(
            (yield* sim.log).length,
            1,
            "still the first connection, past the token's expiry"
          )
          yield* sim.dropConnections
          while ((yield* sim.log).length < 2) yield* Effect.sleep(50)
          yield* Effect.sleep(100)
          const log = yield* sim.log
          assert.strictEqual(log[1].status, 200, "no 401: a fresh token was fetched first")
          assert.strictEqual(yield* tokens.fetches, 2)
          const ids = new Set(idsOf(collected))
          assert.strictEqual(ids.size, collected.length, "no duplicates delivered")
          yield* fiberInterrupt(fiber)
        })
      )
  )

  it.live(
    "a slow consumer pauses reading (backpressure) instead of buffering the stream in memory",
    () =>
      withClient(
        { rate: Number.POSITIVE_INFINITY, totalHits: 100_000, recordSent: false },
        { bufferSize: 100 },
        (sim) =>
          Effect.gen(function* () {
            const live = yield* LiveStream.LiveStream
            let received = 0
            const fiber = yield* live.hits.pipe(
              Stream.runForEach(() =>
                Effect.sync(() => {
                  received++
                }).pipe(Effect.andThen(Effect.sleep(10)))
              ),
              Effect.forkChild
            )
            // The sockets' buffers take a while to fill on a loaded machine (the kernel grows them
            // while the reader is fast at first): wait, bounded, until the sender stops.
            const sentNow = Effect.map(sim.log, (log) => log[0]?.hitsSent ?? 0)
            yield* Effect.sleep(2000)
            let early = yield* sentNow
            for (let i = 0; i < 40; i++) {
              yield* Effect.sleep(500)
              const next = yield* sentNow
              if (next === early) break
              early = next
            }
            const consumed = received
            yield* Effect.sleep(2000)
            const sent = yield* sentNow
            yield* fiberInterrupt(fiber)
            assert.isBelow(received - consumed, 300)
            // Unbounded reading would have taken all 100,000 in about three seconds. What was sent is
            // what the queue, the read-ahead (bounded in bytes) and the sockets' buffers hold, and it
            // stops growing: the simulator is held back by TCP while the consumer keeps taking hits.
            assert.isBelow(
              sent,
              50_000,
              `the simulator sent ${sent} hits to a consumer that took ${received}`
            )
            assert.isBelow(sent - early, 2_000, `still sending: ${early} then ${sent}`)
            assert.strictEqual((yield* sim.log).length, 1, "and the connection stayed open")
          })
      ),
    60_000
  )

  it.live("maxConnections 4 with 4 slots: the union of the partitions, no 409", () =>
    withClient(
      { rate: Number.POSITIVE_INFINITY, totalHits: 2000 },
      { maxConnections: 4, connections: 4 },
      (sim) =>
        Effect.gen(function* () {
          const hits = yield* take(2000)
          assert.deepStrictEqual([...idsOf(hits)].sort(), [...expectedIds(sim.options.seed, 2000)].sort())
          const log = yield* sim.log
          assert.deepStrictEqual(
            log.map((a) => a.status),
            [200, 200, 200, 200]
          )
          // The stream's 8 partitions, shared: two each once all four have joined.
          assert.deepStrictEqual(log.flatMap((a) => a.partitions).sort(), [0, 1, 2, 3, 4, 5, 6, 7])
          for (const a of log) assert.strictEqual(a.partitions.length, 2)
        })
    )
  )

  it.live("a lone client with maxConnections 4 receives every hit: it holds all the partitions", () =>
    withClient({ rate: Number.POSITIVE_INFINITY, totalHits: 2000 }, { maxConnections: 4 }, (sim) =>
      Effect.gen(function* () {
        const hits = yield* take(2000)
        assert.deepStrictEqual(idsOf(hits), expectedIds(sim.options.seed, 2000))
        const log = yield* sim.log
        assert.deepStrictEqual(
          log.map((a) => [a.status, a.query.maxConnections, a.partitions]),
          [[200, "4", [0, 1, 2, 3, 4, 5, 6, 7]]]
        )
      })
    )
  )

  it.live("garbage bytes, a truncated gzip stream and a stall are losses, not the end: nothing lost", () =>
    withClient(
      {
        rate: Number.POSITIVE_INFINITY,
        totalHits: 600,
        scenario: [
          { status: 200, after: 100, fault: "garbage" },
          { status: 200, after: 100, fault: "truncate" },
          { status: 200, after: 100, fault: "stall" },
          { status: 200, after: 100, fault: "end" }
        ]
      },
      { stallTimeout: "300ms" },
      (sim) =>
        Effect.gen(function* () {
          const hits = yield* take(600)
          assert.deepStrictEqual(idsOf(hits), expectedIds(sim.options.seed, 600))
          const log = yield* sim.settledLog
          assert.deepStrictEqual(
            log.map((a) => a.end),
            ["garbage", "truncated", "client-closed", "ended", "client-closed"]
          )
        })
    )
  )
})

const fiberInterrupt = (fiber: { interruptUnsafe: () => void }) => Effect.sync(() => fiber.interruptUnsafe())
