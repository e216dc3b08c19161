import { assert, describe, it } from "@effect/vitest"
import { Arbitrary, Effect, Schema } from "effect"
import { RetryAfter } from "../src/index.ts"

const int = (minimum: number, maximum: number) =>
  Arbitrary.schema(Schema.Int.check(Schema.isBetween({ minimum, maximum })))

describe("RetryAfter", () => {
  it("Retry-After: seconds or an HTTP date; anything else is ignored", () => {
    const now = Date.UTC(2026, 10, 29, 12, 1, 10)
    assert.strictEqual(RetryAfter.parse("120", now), 120_000)
    assert.strictEqual(RetryAfter.parse(" 6 ", now), 6_000)
    assert.strictEqual(RetryAfter.parse("Sun, 29 Nov 2026 12:03:10 GMT", now), 120_000)
    assert.strictEqual(RetryAfter.parse("Sun, 29 Nov 2026 12:00:00 GMT", now), 0, "a past date")
    for (const bad of [undefined, "", "-5", "1.5", "soon", "2026-11-29T12:03:10Z"]) {
      assert.isUndefined(RetryAfter.parse(bad, now), String(bad))
    }
  })

  it.effect.prop(
    "Retry-After as an HTTP date means the same wait as in seconds, to the second",
    [int(0, 4_000_000_000), int(0, 86_400)],
    ([nowSeconds, after]) =>
      Effect.sync(() => {
        const now = nowSeconds * 1000
        const date = new Date(now + after * 1000).toUTCString()
        assert.strictEqual(RetryAfter.parse(date, now), RetryAfter.parse(String(after), now))
      })
  )
})
