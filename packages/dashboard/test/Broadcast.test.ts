import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Queue, Scope } from "effect"
import { Broadcast } from "../src/index.ts"

const message = (n: number) => new Uint8Array([n])

describe("Broadcast", () => {
  it.effect("a browser that stops reading is dropped once its queue is full; one that reads is not", () =>
    Effect.gen(function* () {
      const broadcast = Broadcast.make({ capacity: 4 })
      const scope = yield* Scope.make()
      let closed = 0
      const reader = yield* Broadcast.subscribe(broadcast, message(0), () => closed++).pipe(
        Scope.provide(scope)
      )
      const stuck = yield* Broadcast.subscribe(broadcast, message(0), () => closed++).pipe(
        Scope.provide(scope)
      )
      assert.strictEqual(broadcast.clients.size, 2)
      // The first message is already queued; three more fill the stuck browser's queue.
      for (let n = 1; n <= 3; n++) {
        assert.strictEqual(Broadcast.publish(broadcast, message(n)), 0)
        yield* Queue.takeAll(reader!.queue)
      }
      assert.strictEqual(Broadcast.publish(broadcast, message(4)), 1)
      assert.strictEqual(closed, 1)
      assert.isFalse(broadcast.clients.has(stuck!))
      assert.isTrue(broadcast.clients.has(reader!))
      assert.strictEqual(broadcast.dropped, 1)
      // The dropped browser's queue is ended: what it holds drains, then its stream ends.
      assert.deepStrictEqual(
        (yield* Queue.takeAll(stuck!.queue)).map((m) => m[0]),
        [0, 1, 2, 3]
      )
      assert.isTrue(Exit.isFailure(yield* Effect.exit(Queue.take(stuck!.queue))))
      // Once the reader stops reading too, it is dropped in turn, having held at most `capacity`.
      for (let n = 5; n < 100; n++) Broadcast.publish(broadcast, message(n))
      assert.isFalse(broadcast.clients.has(reader!))
      assert.isAtMost(Queue.sizeUnsafe(reader!.queue), 4)
      yield* Scope.close(scope, Exit.void)
      assert.strictEqual(broadcast.clients.size, 0)
    })
  )

  it.effect("leaving (a closed tab) unregisters the browser; past maxClients, none is added", () =>
    Effect.gen(function* () {
      const broadcast = Broadcast.make({ capacity: 2, maxClients: 1 })
      const first = yield* Scope.make()
      const one = yield* Broadcast.subscribe(broadcast, message(0), () => {}).pipe(Scope.provide(first))
      assert.isDefined(one)
      const two = yield* Broadcast.subscribe(broadcast, message(0), () => {}).pipe(Scope.provide(first))
      assert.isUndefined(two)
      yield* Scope.close(first, Exit.void)
      assert.strictEqual(broadcast.clients.size, 0)
      assert.strictEqual(Broadcast.publish(broadcast, message(1)), 0)
    })
  )
})
