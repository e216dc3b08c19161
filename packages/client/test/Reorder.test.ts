import { assert, describe, it } from "@effect/vitest"
import { Hit } from "@hitstream/core"
import { Arbitrary, Effect, Schema, Stream } from "effect"
import { Reorder } from "../src/index.ts"

const hit = (timeGMT: number, n: number) => ({ timeGMT, pageName: String(n) }) as Hit.Hit

describe("Reorder.byTimeWithin", () => {
  it.effect.prop(
    "emits every hit once; hits displaced by less than the window come out in timeGMT order",
    [
      Arbitrary.array(Arbitrary.schema(Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 50 }))), {
        maxLength: 60
      })
    ],
    ([offsets]) =>
      Effect.gen(function* () {
        // Hit i arrives as if it were up to `window - 1` places later: no hit is displaced by
        // `window` places or more.
        const window = 4
        const arrived = offsets
          .map((o, i) => ({ key: i + (o % window) + i / 1000, h: hit(i * 10, i) }))
          .sort((a, b) => a.key - b.key)
          .map((x) => x.h)
        const out = yield* Stream.fromIterable(arrived).pipe(
          Reorder.byTimeWithin({ hits: window * 2 }),
          Stream.runCollect
        )
        assert.strictEqual(out.length, arrived.length)
        assert.deepStrictEqual(
          out.map((h) => h.timeGMT),
          arrived.map((h) => h.timeGMT!).sort((a, b) => a - b)
        )
      })
  )

  it.effect("keeps arrival order for equal times and flushes what it holds at the end", () =>
    Effect.gen(function* () {
      const out = yield* Stream.make(hit(5, 1), hit(5, 2), hit(1, 3)).pipe(
        Reorder.byTimeWithin({ hits: 10 }),
        Stream.runCollect
      )
      assert.deepStrictEqual(
        out.map((h) => h.pageName),
        ["3", "1", "2"]
      )
    })
  )
})
