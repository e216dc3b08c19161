import { assert, describe, it } from "@effect/vitest"
import { Effect, Stream } from "effect"
import { LiveStream } from "../src/index.ts"
import { withClient } from "./helpers.ts"

describe("LiveStream memory", () => {
  it.live(
    "stays flat over many hits: bounded dedup, no accumulating buffers",
    () =>
      withClient({ rate: Number.POSITIVE_INFINITY, recordSent: false }, { dedupCapacity: 20_000 }, () =>
        Effect.gen(function* () {
          const live = yield* LiveStream.LiveStream
          const samples: Array<number> = []
          let n = 0
          yield* live.hits.pipe(
            Stream.take(120_000),
            Stream.runForEachArray((hits) =>
              Effect.sync(() => {
                const before = n
                n += hits.length
                if (Math.floor(before / 10_000) !== Math.floor(n / 10_000))
                  samples.push(process.memoryUsage().heapUsed)
              })
            )
          )
          assert.strictEqual(n, 120_000)
          // Without a forced GC the heap saws up and down; its troughs are what is retained.
          // Keeping the hits would cost ~2 KB each (200+ MB here); flat means the troughs stay put.
          const early = Math.min(...samples.slice(1, 5))
          const late = Math.min(...samples.slice(-4))
          assert.isBelow(
            (late - early) / 1024 / 1024,
            40,
            `heap ${samples.map((s) => (s / 1048576).toFixed(0)).join(", ")} MB`
          )
          const counters = yield* live.counters
          assert.strictEqual(counters.malformed, 0)
        })
      ),
    60_000
  )
})
