// Smoothing as documented: delivery averaged over smoothingBucketSize seconds. Pure functions of
// the time since the stream's first connection: no clock needed.
import { assert, describe, it } from "@effect/vitest"
import { Arbitrary, Schema } from "effect"
import { Traffic } from "../src/index.ts"

const burst: Traffic.Traffic = {
  rate: 0,
  bursts: [{ at: 10_000, hits: 27_000 }],
  total: Number.POSITIVE_INFINITY
}

describe("Traffic", () => {
  it("a scripted burst is spread evenly over the window, nothing dropped", () => {
    const window = 270
    const released = (s: number) => Traffic.smoothed(burst, s * 1000, window)
    assert.strictEqual(released(9.999), 0)
    // 27,000 hits over 270 s: 100 a second, every second of the window.
    for (let s = 10; s < 280; s += 10) {
      assert.approximately(released(s + 10) - released(s), 1_000, 1, `delivered in [${s}, ${s + 10}) s`)
    }
    assert.strictEqual(released(280), 27_000, "all of the burst, once the window has passed")
    assert.strictEqual(released(1_000), 27_000)
    // Without smoothing it all exists at once.
    assert.strictEqual(Traffic.generated(burst, 10_000), 27_000)
  })

  it("a steady stream lags by half the window, and a finite supply is delivered in full", () => {
    const steady: Traffic.Traffic = { rate: 100, bursts: [], total: 50_000 }
    // After the first window: released(t) = rate * (t - W/2).
    assert.strictEqual(Traffic.smoothed(steady, 300_000, 60), 100 * 270)
    assert.strictEqual(Traffic.generated(steady, 300_000), 30_000)
    // The supply ends at 500 s; everything is out one window later.
    assert.isBelow(Traffic.smoothed(steady, 540_000, 60), 50_000)
    assert.strictEqual(Traffic.smoothed(steady, 560_000, 60), 50_000)
    // rate=max with a finite supply: a burst of everything at the start.
    const max: Traffic.Traffic = { rate: Number.POSITIVE_INFINITY, bursts: [], total: 1_000 }
    assert.strictEqual(Traffic.smoothed(max, 500, 1), 500)
  })

  const shape = Arbitrary.schema(
    Schema.Struct({
      rate: Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 500 })),
      total: Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 100_000 })),
      bucket: Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 600 })),
      bursts: Schema.Array(
        Schema.Struct({
          at: Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 600_000 })),
          hits: Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 20_000 }))
        })
      ).check(Schema.isMaxLength(5)),
      times: Schema.Array(Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 2_000_000 }))).check(
        Schema.isMaxLength(30)
      )
    })
  )

  it.prop(
    "released is monotone, never above what was generated, and catches up one window after the last hit",
    [shape],
    ([{ rate, total, bucket, bursts, times }]) => {
      const traffic: Traffic.Traffic = { rate, bursts, total }
      const sorted = [...times].sort((a, b) => a - b)
      let last = 0
      for (const t of sorted) {
        const released = Traffic.smoothed(traffic, t, bucket)
        assert.isAtLeast(released, last, `monotone at ${t}`)
        assert.isAtMost(released, Traffic.generated(traffic, t))
        last = released
      }
      // Past every burst and, if the rate is positive, past the end of the supply.
      const end =
        Math.max(0, ...bursts.map((b) => b.at), rate > 0 ? (total / rate) * 1000 : 0) + bucket * 1000 + 1
      assert.strictEqual(Traffic.smoothed(traffic, end, bucket), Traffic.generated(traffic, end))
    },
    { arbitrary: { runs: 300 } }
  )
})
