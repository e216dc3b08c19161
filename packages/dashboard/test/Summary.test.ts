import { assert, describe, it } from "@effect/vitest"
import type { LiveStream } from "@hitstream/client"
import { DateTime, Effect, Logger } from "effect"
import { Dashboard, Summary, Timeline, Window } from "../src/index.ts"

const status = (state: LiveStream.SlotState): LiveStream.SlotStatus =>
  ({
    slot: 0,
    state,
    attempts: 2,
    hits: 10,
    lagSeconds: 3.12,
    lastGapSeconds: undefined
  }) as LiveStream.SlotStatus

describe("Summary", () => {
  it("redacts every URL and free text: userinfo, tokens in queries, secrets quoted in messages", () => {
    const streaming = Summary.slotView(
      status({
        _tag: "Streaming",
        since: DateTime.makeUnsafe(1),
        url: "https://user:hunter2@stream.example/api/1/stream/x?access_token=abc123&maxConnections=1",
        gapMillis: undefined
      } as LiveStream.SlotState)
    )
    assert.notInclude(JSON.stringify(streaming), "hunter2")
    assert.notInclude(JSON.stringify(streaming), "abc123")
    assert.include(streaming.url, "maxConnections=1")
    assert.strictEqual(streaming.lagSeconds, 3.1)

    const failed = Summary.slotView(
      status({ _tag: "Failed", message: "redirect to https://u:p4ss@evil.example/?sig=s3cr3t refused" })
    )
    assert.notInclude(failed.message, "p4ss")
    assert.notInclude(failed.message, "s3cr3t")

    const waiting = Summary.slotView(
      status({
        _tag: "Waiting",
        until: DateTime.makeUnsafe(5),
        reason: "401 from https://x.example/?token=t0k3n",
        consecutiveFailures: 3,
        lostAt: undefined
      } as LiveStream.SlotState)
    )
    assert.notInclude(waiting.reason, "t0k3n")
    assert.strictEqual(waiting.consecutiveFailures, 3)
  })

  it("keeps the latest ten malformed previews, redacted and cut", () => {
    let list: ReadonlyArray<Summary.MalformedView> = []
    for (let i = 0; i < 25; i++) {
      list = Summary.pushMalformed(list, {
        at: i,
        slot: 0,
        reason: "InvalidJson",
        preview: i === 24 ? `{"u":"https://a:b@c.example/?key=zzz"${"x".repeat(2_000)}` : `{bad ${i}`
      })
    }
    assert.deepStrictEqual(
      list.map((m) => m.at),
      [15, 16, 17, 18, 19, 20, 21, 22, 23, 24]
    )
    const last = list.at(-1)!
    assert.notInclude(last.preview, "a:b@")
    assert.notInclude(last.preview, "zzz")
    assert.isAtMost(last.preview.length, 500)
  })

  it("a snapshot carries the whole series, a tick its last seconds", () => {
    const window = Window.make(1_000)
    for (let s = 1_000; s < 1_020; s++) Window.record(window, [{} as never], s * 1_000 + 10)
    const input = {
      now: 1_019_500,
      startedAt: 1_000_000,
      minReconnectDelayMillis: 60_000,
      horizonMillis: 3_600_000,
      statuses: [],
      counters: { hits: 20, duplicates: 0, malformed: 0, bytes: 0, attempts: 1 },
      malformed: [],
      window,
      timeline: Timeline.make()
    }
    const snapshot = Summary.make({ ...input, kind: "snapshot" })
    assert.strictEqual(snapshot.points.length, 20)
    const tick = Summary.make({ ...input, kind: "tick" })
    assert.deepStrictEqual(
      tick.points.map((p) => p.second),
      [1_017, 1_018, 1_019]
    )
    assert.strictEqual(tick.top.total, 20)
  })
})

describe("Dashboard.malformedLogger", () => {
  it.effect("keeps the preview of the client's malformed-record warning, with its slot", () => {
    const kept: Array<Summary.MalformedView> = []
    const dashboard = { recordMalformed: (entry: Summary.MalformedView) => kept.push(entry) }
    return Effect.gen(function* () {
      yield* Effect.logWarning("slot 1: skipped a malformed record (InvalidJson): Unexpected token", {
        preview: '{"pageName": "ho',
        length: 16
      }).pipe(Effect.annotateLogs({ slot: 1 }))
      yield* Effect.logInfo("slot 1: streaming from http://x/")
      assert.strictEqual(kept.length, 1)
      assert.strictEqual(kept[0].slot, 1)
      assert.strictEqual(kept[0].reason, "InvalidJson")
      assert.strictEqual(kept[0].preview, '{"pageName": "ho')
    }).pipe(
      Effect.provide(
        Logger.layer([Dashboard.malformedLogger(dashboard as unknown as Dashboard.Dashboard["Service"])])
      )
    )
  })
})
