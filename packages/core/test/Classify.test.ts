import { assert, describe, it } from "@effect/vitest"
import { Arbitrary, Schema } from "effect"
import { Dedup, Hit } from "../src/index.ts"

// -1 stands for a malformed record; other values are ids from a small space, so repeats are common.
const batches = Arbitrary.array(
  Arbitrary.array(Arbitrary.schema(Schema.Int.check(Schema.isBetween({ minimum: -1, maximum: 30 }))), {
    maxLength: 50
  }),
  { maxLength: 8 }
)

const record = (n: number): Hit.Hit | Hit.MalformedRecord =>
  n < 0
    ? new Hit.MalformedRecord({ reason: "InvalidJson", message: "bad", preview: "{", length: 1 })
    : { hitIdHigh: `1844674407370955${1000 + n}`, hitIdLow: String(n), pageName: `p${n}` }

describe("Dedup.classify", () => {
  it.prop(
    "splits each batch into first sightings (in order), malformed records and repeats, across batches",
    [batches],
    ([input]) => {
      const dedup = new Dedup.Dedup(100)
      const seen = new Set<number>()
      for (const batch of input) {
        const { fresh, malformed, duplicates } = Dedup.classify(dedup, batch.map(record))
        const expected = batch.filter((n) => n >= 0 && !seen.has(n) && (seen.add(n), true))
        assert.deepStrictEqual(
          fresh.map((h) => Number(h.hitIdLow)),
          expected
        )
        assert.strictEqual(malformed.length, batch.filter((n) => n < 0).length)
        assert.strictEqual(duplicates, batch.length - malformed.length - expected.length)
      }
    },
    { arbitrary: { runs: 200 } }
  )

  it("keeps a hit without both ids: it cannot be recognised as a repeat", () => {
    const dedup = new Dedup.Dedup(10)
    const hit: Hit.Hit = { hitIdHigh: "1", pageName: "x" }
    assert.strictEqual(Dedup.classify(dedup, [hit, hit]).fresh.length, 2)
  })
})
