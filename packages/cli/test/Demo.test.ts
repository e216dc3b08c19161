// The demo's closing line: what counts as lost, and what was only on the wire when it stopped.
import { assert, describe, it } from "@effect/vitest"
import { Arbitrary, Schema } from "effect"
import { tally } from "../src/Demo.ts"

const hit = (index: number) => ({ index, hitIdHigh: String(index), hitIdLow: "1" })
const id = (index: number) => `${index}:1`

describe("Demo.tally", () => {
  it.prop(
    "hits before the last one received and not received are lost; those after it are in flight",
    [
      Arbitrary.schema(Schema.Array(Schema.Boolean).check(Schema.isMaxLength(300))),
      Arbitrary.schema(Schema.Array(Schema.Boolean).check(Schema.isMaxLength(40)))
    ],
    ([received, tail]) => {
      // The client got `received` (true/false per hit in order), then it was stopped: after its
      // last hit, nothing of the tail arrived.
      const lastReceived = received.lastIndexOf(true)
      const sent = [...received, ...tail].map((_, i) => hit(i))
      const seen = new Set(received.flatMap((r, i) => (r ? [id(i)] : [])))
      const lost = received.filter((r, i) => !r && i < lastReceived).length
      const { missing, inFlight } = tally(sent, seen)
      assert.strictEqual(missing, lost)
      assert.strictEqual(inFlight, sent.length - seen.size - lost)
      assert.strictEqual(missing + inFlight + seen.size, sent.length, "every hit sent is counted once")
    }
  )

  it("a backfill's repeats are one hit each: a gap the backfill filled is no loss", () => {
    // Sent 0..4, the connection dropped after 2 was read, the next one re-sent 2..6; 6 was not read.
    const sent = [0, 1, 2, 3, 4, 2, 3, 4, 5, 6].map(hit)
    const seen = new Set([0, 1, 2, 3, 4, 5].map(id))
    assert.deepStrictEqual(tally(sent, seen), { missing: 0, inFlight: 1 })
  })
})
