// The example of docs/client.md "Testing your app with hitstream", run as written. The last test
// checks that this file below the first line is the block in the document, character for character.
import { assert, describe, it } from "@effect/vitest"
import { LiveStream, NodeLiveStream } from "@hitstream/client"
import { Simulator } from "@hitstream/simulator"
import { Clock, Effect, Fiber, Layer, Stream } from "effect"
import { TestClock } from "effect/testing"

// The client under test, configured against the simulator it runs next to.
const client = Layer.unwrap(
  Effect.map(Effect.service(Simulator.Simulator), (sim) =>
    NodeLiveStream.layer({
      url: sim.streamUrl(),
      tokenUrl: sim.tokenUrl(),
      clientId: sim.clientId,
      clientSecret: sim.clientSecret
    })
  )
)

// Real sockets, virtual time: wait in real time while the TestClock stands still...
const waitFor = (done: Effect.Effect<boolean>) =>
  TestClock.withLive(
    Effect.gen(function* () {
      for (let i = 0; i < 500 && !(yield* done); i++) yield* Effect.sleep("10 millis")
    })
  )

// ...or move it a second at a time, letting the sockets work in between.
const advanceUntil = (done: Effect.Effect<boolean>) =>
  Effect.gen(function* () {
    for (let i = 0; i < 600 && !(yield* done); i++) {
      yield* TestClock.adjust("1 second")
      yield* TestClock.withLive(Effect.sleep("5 millis"))
    }
  })

describe("my app", () => {
  it.effect("gets every hit once across a dropped connection, reconnecting a minute later", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.Simulator
      const live = yield* LiveStream.LiveStream
      // The first connection drops after 40 hits; the next one streams normally.
      yield* sim.setScenario([{ status: 200, after: 40, fault: "drop" }])
      const hits = yield* Effect.forkChild(live.hits.pipe(Stream.take(100), Stream.runCollect))

      const waiting = Effect.map(live.slots, ([slot]) => slot.state._tag === "Waiting")
      yield* waitFor(waiting)
      const lostAt = yield* Clock.currentTimeMillis
      yield* advanceUntil(Effect.map(sim.log, (log) => log.length === 2))
      const reconnectedAfter = (yield* Clock.currentTimeMillis) - lostAt

      const received = yield* Fiber.join(hits)
      assert.strictEqual(new Set(received.map((h) => `${h.hitIdHigh}:${h.hitIdLow}`)).size, 100)
      assert.isAtLeast(reconnectedAfter, 60_000) // Adobe's minimum, on the TestClock
      assert.isAtMost(reconnectedAfter, 73_000) // plus at most 20% jitter
    }).pipe(
      Effect.provide(client),
      Effect.provide(Simulator.layer({ rate: Number.POSITIVE_INFINITY, totalHits: 100 }))
    )
  )
})

describe("docs/client.md", () => {
  it("shows this file's test, verbatim", () => {
    const fs = process.getBuiltinModule("node:fs")
    const doc = fs.readFileSync(new URL("../../../docs/client.md", import.meta.url), "utf8")
    const section = doc.slice(doc.indexOf("## Testing your app with hitstream"))
    const block = /```ts\n([\s\S]*?)```/.exec(section)?.[1]
    const self = fs.readFileSync(new URL(import.meta.url), "utf8")
    const body = self.slice(self.indexOf("import "), self.indexOf('describe("docs/client.md"')).trimEnd()
    assert.strictEqual(block?.trimEnd(), body)
  })
})
