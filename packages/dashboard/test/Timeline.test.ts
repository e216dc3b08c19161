import { assert, describe, it } from "@effect/vitest"
import type { LiveStream } from "@hitstream/client"
import { Arbitrary, DateTime, Schema } from "effect"
import { Timeline } from "../src/index.ts"

const int = (minimum: number, maximum: number) =>
  Arbitrary.schema(Schema.Int.check(Schema.isBetween({ minimum, maximum })))

const minimum = 60_000
const at = (millis: number) => DateTime.makeUnsafe(millis)

// One attempt: connecting for `connect` ms, then streaming for `stream` ms (0: refused), then a
// wait of `gap` ms before the next attempt. The wait's start is observed `late` ms after the loss.
const attempt = Arbitrary.map(
  Arbitrary.all([
    int(1, 5_000),
    int(0, 600_000),
    int(200, 180_000),
    int(0, 200),
    Arbitrary.schema(Schema.Boolean)
  ]),
  ([connect, stream, gap, late, stamped]) => ({ connect, stream, gap, late, stamped })
)

describe("Timeline", () => {
  it.prop(
    "gaps are the times between one attempt's end and the next one's start; short exactly when below the minimum",
    [Arbitrary.array(attempt, { minLength: 1, maxLength: 12 })],
    ([attempts]) => {
      const timeline = Timeline.make()
      let t = 1_700_000_000_000
      const expected: Array<{ from: number; to: number }> = []
      let previousEnd: number | undefined
      for (const a of attempts) {
        if (previousEnd !== undefined) expected.push({ from: previousEnd, to: t })
        const state: LiveStream.SlotState = { _tag: "Connecting", attempt: 1, since: at(t) }
        Timeline.observe(timeline, 0, state, t + 3)
        // The same state published again (a counts update) adds nothing.
        Timeline.observe(timeline, 0, state, t + 4)
        t += a.connect
        if (a.stream > 0) {
          Timeline.observe(
            timeline,
            0,
            {
              _tag: "Streaming",
              since: at(t),
              url: "http://x/",
              gapMillis: undefined
            } as LiveStream.SlotState,
            t + 1
          )
          t += a.stream
        }
        const lost = t
        Timeline.observe(
          timeline,
          0,
          {
            _tag: "Waiting",
            until: at(lost + a.gap),
            reason: "test",
            consecutiveFailures: 1,
            lostAt: a.stamped ? at(lost) : undefined
          } as LiveStream.SlotState,
          lost + a.late
        )
        previousEnd = a.stamped ? lost : lost + a.late
        t = lost + a.gap
      }
      const spans = timeline.rows.get(0)!
      const gaps = Timeline.gaps(spans, t, minimum)
      const closed = gaps.filter((g) => g.to !== undefined)
      assert.strictEqual(closed.length, expected.length)
      closed.forEach((gap, i) => {
        assert.strictEqual(gap.from, expected[i].from)
        assert.strictEqual(gap.to, expected[i].to)
        assert.strictEqual(gap.millis, expected[i].to - expected[i].from)
        assert.strictEqual(gap.short, gap.millis < minimum - Timeline.toleranceMillis)
      })
      // The last wait is still open: a gap so far, never red.
      const open = gaps.filter((g) => g.to === undefined)
      assert.strictEqual(open.length, 1)
      assert.isFalse(open[0].short)
      // Spans are contiguous: each ends where the next begins.
      for (let i = 1; i < spans.length; i++) assert.strictEqual(spans[i - 1].to, spans[i].from)
    },
    { arbitrary: { runs: 300 } }
  )

  it("shows the last hour only, clipped, and forgets spans that ended before it", () => {
    const timeline = Timeline.make()
    const hour = 3_600_000
    const t0 = 1_700_000_000_000
    Timeline.observe(timeline, 1, { _tag: "Connecting", attempt: 1, since: at(t0) }, t0)
    Timeline.observe(
      timeline,
      1,
      { _tag: "Streaming", since: at(t0 + 100), url: "u", gapMillis: undefined } as LiveStream.SlotState,
      t0 + 100
    )
    Timeline.observe(
      timeline,
      1,
      {
        _tag: "Waiting",
        until: at(t0 + 2 * hour + 70_000),
        reason: "dropped",
        consecutiveFailures: 1,
        lostAt: at(t0 + 2 * hour)
      } as LiveStream.SlotState,
      t0 + 2 * hour
    )
    Timeline.observe(
      timeline,
      1,
      { _tag: "Connecting", attempt: 2, since: at(t0 + 2 * hour + 20_000) },
      t0 + 2 * hour + 20_000
    )
    const now = t0 + 2 * hour + 30_000
    const [row] = Timeline.view(timeline, now, hour, 60_000)
    assert.strictEqual(row.slot, 1)
    assert.deepStrictEqual(
      row.spans.map((s) => [s.phase, s.from, s.to]),
      [
        ["streaming", now - hour, t0 + 2 * hour],
        ["waiting", t0 + 2 * hour, t0 + 2 * hour + 20_000],
        ["connecting", t0 + 2 * hour + 20_000, null]
      ]
    )
    // The connection before the wait ended 20 s before the next attempt: red.
    assert.deepStrictEqual(row.gaps, [
      { from: t0 + 2 * hour, to: t0 + 2 * hour + 20_000, millis: 20_000, short: true }
    ])
    Timeline.prune(timeline, now - hour)
    assert.strictEqual(timeline.rows.get(1)!.length, 3)
    Timeline.prune(timeline, t0 + 2 * hour + 25_000)
    assert.deepStrictEqual(
      timeline.rows.get(1)!.map((s) => s.phase),
      ["connecting"]
    )
  })

  it("a failed slot ends the run of gaps; idle spans are not drawn", () => {
    const timeline = Timeline.make()
    Timeline.observe(timeline, 0, { _tag: "Idle" }, 0)
    Timeline.observe(timeline, 0, { _tag: "Connecting", attempt: 1, since: at(10) }, 10)
    Timeline.observe(timeline, 0, { _tag: "Failed", message: "404: endpoint unknown" }, 20)
    const [row] = Timeline.view(timeline, 30, 3_600_000, 60_000)
    assert.deepStrictEqual(
      row.spans.map((s) => [s.phase, s.reason]),
      [
        ["connecting", undefined],
        ["failed", "404: endpoint unknown"]
      ]
    )
    assert.deepStrictEqual(row.gaps, [])
  })
})
