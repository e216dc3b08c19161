import { assert, describe, it } from "@effect/vitest"
import { Arbitrary, Schema } from "effect"
import { Dedup } from "../src/index.ts"

// Small id spaces make repeats frequent; small capacities make eviction frequent.
const ops = Arbitrary.array(
  Arbitrary.schema(Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 40 }))),
  { maxLength: 300 }
)
const capacity = Arbitrary.schema(Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 25 })))

describe("Dedup", () => {
  it.prop(
    "drops exactly the repeats within the window of the last `capacity` distinct ids, and never grows past it",
    [ops, capacity],
    ([ids, cap]) => {
      const dedup = new Dedup.Dedup(cap)
      // The model: a list of the last `cap` distinct ids admitted, oldest first.
      const window: Array<number> = []
      for (const id of ids) {
        // Ids above 2^53 in both halves, distinct per model id.
        const high = 0xfedcba9876543210n + BigInt(id)
        const low = BigInt(id) * 0x100000001n
        const expectedNew = !window.includes(id)
        assert.strictEqual(dedup.admit(high, low), expectedNew, `id ${id}`)
        if (expectedNew) {
          window.push(id)
          if (window.length > cap) window.shift()
        }
        assert.isAtMost(dedup.size, cap)
        assert.strictEqual(dedup.size, window.length)
      }
      for (const id of window)
        assert.isTrue(dedup.has(0xfedcba9876543210n + BigInt(id), BigInt(id) * 0x100000001n))
    },
    { arbitrary: { runs: 300 } }
  )

  it("tells apart ids that a rounding JSON.parse would merge", () => {
    const dedup = new Dedup.Dedup(10)
    assert.isTrue(dedup.admit(2961299500374616223n, 1n))
    assert.isTrue(dedup.admit(2961299500374616000n, 1n))
    assert.isFalse(dedup.admit(2961299500374616223n, 1n))
  })

  it("keeps hits without ids, which it cannot recognise as repeats", () => {
    const dedup = new Dedup.Dedup(10)
    assert.isTrue(dedup.admitHit({ pageName: "a" }))
    assert.isTrue(dedup.admitHit({ pageName: "a" }))
    assert.isTrue(dedup.admitHit({ hitIdHigh: "1", hitIdLow: "2" }))
    assert.isFalse(dedup.admitHit({ hitIdHigh: "1", hitIdLow: "2" }))
  })

  it("holds at most 32 bytes per remembered hit at the default capacity", () => {
    const dedup = new Dedup.Dedup()
    assert.isAtMost(dedup.byteLength / dedup.capacity, 32)
  })

  it("rejects a capacity out of range, naming it", () => {
    assert.throws(() => new Dedup.Dedup(0), /capacity must be an integer from 1/)
  })
})
