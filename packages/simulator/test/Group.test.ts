// The consumer group and the ground truth over real HTTP, read by a bare node:http + zlib reader.
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import { HitGenerator } from "../src/index.ts"
import { get, indexOf, json, records } from "./http.ts"
import { credentials, withSimulator } from "./support.ts"

const post = (url: string) =>
  Effect.promise(() => fetch(url, { method: "POST" }).then((r) => r.json() as Promise<{ dropped: number }>))

describe("Simulator: consumer group and ground truth", () => {
  it.live("a lone connection with maxConnections=4 receives every hit, in order", () =>
    withSimulator({ rate: Number.POSITIVE_INFINITY, totalHits: 500 }, (sim) =>
      Effect.gen(function* () {
        const headers = yield* credentials(sim)
        const reply = yield* get(`${sim.streamUrl()}?maxConnections=4`, {
          headers,
          records: 500,
          within: 10_000
        })
        assert.deepStrictEqual(
          records(reply.raw).map(indexOf),
          Array.from({ length: 500 }, (_, i) => i)
        )
        const log = yield* sim.log
        assert.deepStrictEqual(log[0].partitions, [0, 1, 2, 3, 4, 5, 6, 7])
      })
    )
  )

  it.live("preload (the benchmarks): every lone connection gets the whole buffer, then a clean end", () =>
    withSimulator({ rate: Number.POSITIVE_INFINITY, totalHits: 300, preload: true, gracePeriod: 0 }, (sim) =>
      Effect.gen(function* () {
        const headers = yield* credentials(sim)
        for (let i = 0; i < 2; i++) {
          const reply = yield* get(sim.streamUrl(), { headers, within: 5000 })
          assert.strictEqual(reply.ended, "end")
          assert.deepStrictEqual(
            records(reply.raw).map(indexOf),
            Array.from({ length: 300 }, (_, n) => n)
          )
        }
        const log = yield* sim.settledLog
        assert.deepStrictEqual(
          log.map((a) => [a.hitsSent, a.end]),
          [
            [300, "ended"],
            [300, "ended"]
          ]
        )
      })
    )
  )

  it.live(
    "a dropped member's partitions stay undelivered for the grace period, then move with a backfill",
    () =>
      withSimulator(
        { rate: Number.POSITIVE_INFINITY, totalHits: 600, gracePeriod: 700, backfillDuplicates: 3 },
        (sim) =>
          Effect.gen(function* () {
            const headers = yield* credentials(sim)
            const url = `${sim.streamUrl()}?maxConnections=2`
            yield* sim.setScenario([{ status: 200, after: 200, fault: "drop" }])
            const first = yield* get(url, { headers, within: 3000 })
            assert.strictEqual(first.ended, "aborted")
            // Admitted (two may share), but the ghost holds every partition until it times out.
            const second = yield* get(url, { headers, records: 400, within: 10_000 })
            const log = yield* sim.log
            const [a, b] = log
            assert.deepStrictEqual(
              b.assignments.map((x) => x.partitions.length),
              [0, 8]
            )
            assert.strictEqual(b.assignments[1].at - a.endedAt!, 700, "handed over exactly at the timeout")
            // Together: every hit; twice only the last three of each partition, around the handover.
            const firstIds = records(first.raw).map(indexOf)
            const secondIds = records(second.raw).map(indexOf)
            assert.deepStrictEqual(
              [...new Set([...firstIds, ...secondIds])].sort((x, y) => x - y),
              Array.from({ length: 600 }, (_, i) => i)
            )
            const partitionOf = (n: number) => HitGenerator.visitorOf(sim.options.seed, n) % 8
            const again = secondIds.filter((n) => firstIds.includes(n))
            const expected = Array.from({ length: 8 }, (_, p) =>
              firstIds.filter((n) => partitionOf(n) === p).slice(-3)
            )
            assert.deepStrictEqual(
              again,
              expected.flat().sort((x, y) => x - y)
            )
            const history = yield* sim.assignments
            assert.deepStrictEqual(
              history.map((e) => [e.cause, e.member]),
              [
                ["join", 1],
                ["leave", 1],
                ["join", 2],
                ["expire", 1]
              ]
            )
          })
      ),
    20_000
  )

  it.live(
    "exact ground truth: across drops at any moment, a bare reader misses nothing /_sim/sent lists, and each attempt's hitsSent is what it read",
    () =>
      // The supply outlasts the six attempts: at full speed each one takes thousands of hits
      // before its drop lands.
      withSimulator(
        { rate: Number.POSITIVE_INFINITY, totalHits: 1_000_000, gracePeriod: 50, maxChunkSize: 4096 },
        (sim) =>
          Effect.gen(function* () {
            const headers = yield* credentials(sim)
            const received: Array<Array<number>> = []
            for (let i = 0; i < 6; i++) {
              const reader = yield* Effect.forkChild(get(sim.streamUrl(), { headers, within: 10_000 }))
              // Once hits flow, drops land anywhere: mid-batch, mid-flush, with bytes still queued
              // for the socket.
              const deadline = Date.now() + 20_000
              while (((yield* sim.log)[i]?.hitsSent ?? 0) < 500) {
                assert.isBelow(
                  Date.now(),
                  deadline,
                  `attempt ${i + 1} never streamed: ${JSON.stringify((yield* sim.log)[i])}`
                )
                yield* Effect.sleep(5)
              }
              yield* Effect.sleep(i * 23)
              const { dropped } = yield* post(`${sim.baseUrl}/_sim/drop`)
              assert.strictEqual(dropped, 1)
              const reply = yield* Fiber.join(reader)
              assert.strictEqual(reply.ended, "aborted")
              received.push(records(reply.raw).map(indexOf))
              // Well past the 50 ms grace period, so the next connection is never refused as a
              // second member while the dropped one is still counted (a loaded machine is slow).
              yield* Effect.sleep(300)
            }
            const log = yield* sim.settledLog
            assert.deepStrictEqual(
              log.map((a) => [a.status, a.end]),
              Array.from({ length: 6 }, (): Array<number | string | undefined> => [200, "dropped"])
            )
            log.forEach((a, i) => assert.strictEqual(a.hitsSent, received[i].length, `attempt ${i + 1}`))
            const got = new Set(received.flat())
            const sent = json(yield* get(`${sim.baseUrl}/_sim/sent`)) as Array<{
              index: number
              hitIdHigh: string
            }>
            assert.isAbove(sent.length, 1000)
            const missing = sent.filter((s) => !got.has(s.index))
            assert.deepStrictEqual(missing, [], "0 missing")
            assert.strictEqual(sent.length, got.size, "and nothing received that was not counted")
          })
      ),
    120_000
  )
})
