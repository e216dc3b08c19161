import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { ReconnectPolicyOptions } from "../src/index.ts"

describe("ReconnectPolicyOptions", () => {
  it("defaults: max 150 s, so the longest wait with jitter is the 180 s backfill window", () =>
    Effect.runSync(
      Effect.gen(function* () {
        const options = yield* ReconnectPolicyOptions.make()
        assert.strictEqual(options.backfillWindow, 180_000)
        assert.strictEqual(options.maxReconnectDelay, 150_000)
        assert.strictEqual(options.healthyAfter, 60_000)
        assert.strictEqual(options.maxReconnectDelay * (1 + options.maxJitter), options.backfillWindow)
        const wider = yield* ReconnectPolicyOptions.make({ backfillWindow: "10 minutes" })
        assert.strictEqual(wider.maxReconnectDelay, 500_000)
        const bad = yield* Effect.flip(ReconnectPolicyOptions.make({ backfillWindow: 0 }))
        assert.strictEqual(bad.option, "backfillWindow")
      })
    ))

  it.effect("rejects invalid options, naming the option and the value", () =>
    Effect.gen(function* () {
      const negative = yield* Effect.flip(ReconnectPolicyOptions.make({ minReconnectDelay: -5 }))
      assert.strictEqual(negative.option, "minReconnectDelay")
      assert.include(negative.message, "-5")
      const inverted = yield* Effect.flip(
        ReconnectPolicyOptions.make({ minReconnectDelay: "2 minutes", maxReconnectDelay: "1 minute" })
      )
      assert.strictEqual(inverted.option, "maxReconnectDelay")
      const jitter = yield* Effect.flip(ReconnectPolicyOptions.make({ maxJitter: 3 }))
      assert.strictEqual(jitter.option, "maxJitter")
    })
  )
})
