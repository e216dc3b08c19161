import { assert, describe, it } from "@effect/vitest"
import { Arbitrary, Schema } from "effect"
import { decimal64 } from "../src/Dedup.ts"
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
    // Ids that differ only in the upper 32 bits of either half (the hash sees the lower ones).
    assert.isTrue(dedup.admit(1n << 32n, 5n))
    assert.isTrue(dedup.admit(2n << 32n, 5n))
    assert.isTrue(dedup.admit(5n, 1n << 32n))
    assert.isTrue(dedup.admit(5n, 2n << 32n))
    assert.isFalse(dedup.admitHit({ hitIdHigh: String(2n << 32n), hitIdLow: "5" }))
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

// Strings of 1 to 20 digits (leading zeros, values past 2^64 included) and some that are not.
const digitStrings = Arbitrary.map(
  Arbitrary.array(Arbitrary.schema(Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 9 }))), {
    minLength: 1,
    maxLength: 20
  }),
  (digits) => digits.join("")
)

describe("Dedup on decimal ids", () => {
  it.prop(
    "decimal64 reads a decimal string's value modulo 2^64 into two 32-bit halves",
    [digitStrings],
    ([text]) => {
      const out = new Uint32Array(2)
      assert.isTrue(decimal64(text, out, 0))
      const value = BigInt.asUintN(64, BigInt(text))
      assert.deepStrictEqual([out[0], out[1]], [Number(value >> 32n), Number(value & 0xffffffffn)], text)
    }
  )

  it("decimal64 refuses what is not 1 to 20 digits", () => {
    const out = new Uint32Array(2)
    for (const text of ["", "12a", "-1", " 1", "1.0", "123456789012345678901"])
      assert.isFalse(decimal64(text, out, 0), text)
    // admitHit still decides such ids as BigInt would (or throws as it does).
    const dedup = new Dedup.Dedup(4)
    assert.isTrue(dedup.admitHit({ hitIdHigh: "", hitIdLow: "7" }))
    assert.isFalse(dedup.admitHit({ hitIdHigh: "0", hitIdLow: "7" }))
    assert.throws(() => dedup.admitHit({ hitIdHigh: "12a", hitIdLow: "7" }))
  })

  it.prop(
    "admitHit with decimal strings decides as admit with the same ids as BigInts",
    [Arbitrary.array(Arbitrary.all([digitStrings, digitStrings]), { maxLength: 200 }), capacity],
    ([ids, cap]) => {
      const byString = new Dedup.Dedup(cap)
      const byBigInt = new Dedup.Dedup(cap)
      // Repeats, so that the window is exercised: every id goes in twice, a few apart.
      const sequence = ids.flatMap((id, i) => (i >= 3 ? [id, ids[i - 3]] : [id]))
      for (const [high, low] of sequence) {
        assert.strictEqual(
          byString.admitHit({ hitIdHigh: high, hitIdLow: low }),
          byBigInt.admit(BigInt(high), BigInt(low)),
          `${high}:${low}`
        )
      }
    },
    { arbitrary: { runs: 300 } }
  )
})
