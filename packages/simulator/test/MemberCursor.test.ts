// A connection's next batches, without sockets: the hits of the partitions it holds, in order,
// each once, as generate's text, with the re-sends of a handover counted.
import { assert, describe, it } from "@effect/vitest"
import { Arbitrary, Schema } from "effect"
import { HitGenerator, MemberCursor, StreamModel } from "../src/index.ts"

const seed = 1
const rules: StreamModel.Rules = {
  partitions: 8,
  gracePeriod: 100,
  backfillWindow: 1_000,
  backfillDuplicates: 2,
  partitionOf: StreamModel.partitioner(seed, 8),
  newest: (at) => at
}
const query: StreamModel.Query = {
  maxConnections: 2,
  reset: undefined,
  smoothing: false,
  smoothingBucketSize: 270
}

const budgets = Arbitrary.schema(
  Schema.Array(Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 50 }))).check(
    Schema.isMinLength(1),
    Schema.isMaxLength(8)
  )
)

const lines = (bytes: Buffer) =>
  bytes
    .toString("utf8")
    .split("\r\n")
    .filter((l) => l !== "")

describe("MemberCursor", () => {
  it.prop(
    "batches in turn hold exactly the member's hits below `available`, in order, once each, as generate's text",
    [budgets, Arbitrary.schema(Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 400 })))],
    ([takes, available]) => {
      const group = StreamModel.makeGroup(8)
      StreamModel.join(group, rules, 1, query, 0)
      StreamModel.join(group, rules, 2, query, 0)
      const member = group.members.find((m) => m.id === 2)!
      const cursor = MemberCursor.make(seed, group, rules, member)
      assert.isTrue(cursor.sync())
      const target = Buffer.alloc(50 * (HitGenerator.maxRecordBytes + 4))
      const got: Array<string> = []
      // An empty record after every 7th: they are only extra CRLFs.
      let draws = 0
      let before = 0
      for (const budget of takes) {
        const from = cursor.scan()
        const taken = cursor.take({
          available,
          budget,
          timeGMT: 1_764_000_000,
          target,
          emptyRecord: () => ++draws % 7 === 0
        })
        assert.isAtMost(taken.count, budget)
        assert.strictEqual(cursor.scan(), taken.to)
        for (const r of taken.ranges) {
          assert.include(member.partitions, r.p)
          assert.deepStrictEqual([r.from, r.to], [from, taken.to])
        }
        const bytes = target.subarray(0, taken.bytes)
        const records = lines(bytes)
        assert.strictEqual(records.length, taken.count)
        assert.strictEqual(
          bytes.toString("latin1").split("\r\n\r\n").length - 1,
          Math.floor(draws / 7) - before
        )
        before = Math.floor(draws / 7)
        assert.strictEqual(taken.duplicates, 0)
        got.push(...records)
      }
      const expected: Array<string> = []
      for (let n = 0; n < Math.min(available, cursor.scan()); n++) {
        if (member.partitions.includes(rules.partitionOf(n))) {
          expected.push(HitGenerator.generate(seed, n, 1_764_000_000).text)
        }
      }
      assert.deepStrictEqual(got, expected)
    },
    { arbitrary: { runs: 50 } }
  )

  it("after a handover, starts at the partition's new start and counts the re-sends", () => {
    const group = StreamModel.makeGroup(8)
    StreamModel.join(group, rules, 1, query, 0)
    for (let p = 0; p < 8; p++) StreamModel.written(group, p, group.partitions[p].epoch, 500)
    StreamModel.join(group, rules, 2, query, 600)
    const member = group.members.find((m) => m.id === 2)!
    const cursor = MemberCursor.make(seed, group, rules, member)
    assert.isTrue(cursor.sync())
    const starts = member.partitions.map((p) => group.partitions[p].start)
    assert.strictEqual(cursor.scan(), Math.min(...starts))
    const target = Buffer.alloc(200 * (HitGenerator.maxRecordBytes + 4))
    const taken = cursor.take({ available: 520, budget: 200, timeGMT: 0, target, emptyRecord: () => false })
    // Two re-sends per partition (backfillDuplicates), then what the first member never wrote.
    assert.strictEqual(taken.duplicates, 2 * member.partitions.length)
    let expected = 0
    for (let n = 0; n < taken.to; n++) {
      const p = rules.partitionOf(n)
      if (member.partitions.includes(p) && n >= group.partitions[p].start) expected++
    }
    assert.strictEqual(taken.count, expected)
  })
})
