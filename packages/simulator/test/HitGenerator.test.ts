import { assert, describe, it } from "@effect/vitest"
import { Arbitrary, Schema } from "effect"
import { ByteWriter, HitGenerator } from "../src/index.ts"

const index = Arbitrary.schema(Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 2 ** 32 - 1 })))
const seed = Arbitrary.schema(Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 1_000_000 })))

describe("HitGenerator", () => {
  it.prop(
    "encodeInto writes generate's text as UTF-8, byte for byte; ids are exact 64-bit decimals",
    [seed, index],
    ([s, n]) => {
      const hit = HitGenerator.generate(s, n, 1_764_000_000)
      const target = Buffer.alloc(HitGenerator.maxRecordBytes + 8)
      const end = HitGenerator.encodeInto(s, n, 1_764_000_000, target, 3)
      assert.isTrue(target.subarray(3, end).equals(Buffer.from(hit.text, "utf8")))
      assert.isAtMost(end - 3, HitGenerator.maxRecordBytes)
      assert.strictEqual(BigInt(hit.hitIdHigh) & 0xffffffffn, BigInt(n))
      assert.isTrue(BigInt(hit.hitIdHigh) >= 2n ** 63n && BigInt(hit.hitIdHigh) < 2n ** 64n)
      assert.isTrue(BigInt(hit.hitIdLow) < 2n ** 64n)
      assert.include(hit.text, `"hitIdHigh":${hit.hitIdHigh},"hitIdLow":${hit.hitIdLow}`)
    },
    { arbitrary: { runs: 300 } }
  )

  const half = Arbitrary.schema(Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 2 ** 32 - 1 })))
  it.prop(
    "decimal64 is hi * 2^32 + lo, exactly",
    [half, half],
    ([hi, lo]) => {
      assert.strictEqual(HitGenerator.decimal64(hi, lo), ((BigInt(hi) << 32n) | BigInt(lo)).toString())
    },
    { arbitrary: { runs: 1000 } }
  )

  it.prop(
    "ByteWriter.digits64 writes decimal64's text; digits zero-pads to the width",
    [half, half, Arbitrary.schema(Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 12 })))],
    ([hi, lo, width]) => {
      const target = Buffer.alloc(40, 0x2e)
      const end = ByteWriter.digits64(target, 2, hi, lo)
      assert.strictEqual(target.toString("latin1", 2, end), HitGenerator.decimal64(hi, lo))
      assert.strictEqual(target[end], 0x2e, "nothing written past the end")
      const to = ByteWriter.digits(target, 0, lo, width)
      assert.strictEqual(target.toString("latin1", 0, to), String(lo).padStart(width, "0"))
    },
    { arbitrary: { runs: 1000 } }
  )

  it("decimal64 at the edges", () => {
    assert.strictEqual(HitGenerator.decimal64(0, 0), "0")
    assert.strictEqual(HitGenerator.decimal64(0, 2 ** 32 - 1), "4294967295")
    assert.strictEqual(HitGenerator.decimal64(1, 0), "4294967296")
    assert.strictEqual(HitGenerator.decimal64(2 ** 32 - 1, 2 ** 32 - 1), "18446744073709551615")
    assert.strictEqual(HitGenerator.decimal64(232, 3567587328), "1000000000000")
  })
})
