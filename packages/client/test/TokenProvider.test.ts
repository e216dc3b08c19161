import { assert, describe, it } from "@effect/vitest"
import { Simulator } from "@hitstream/simulator"
import { Config } from "@hitstream/core"
import { Clock, Effect, Fiber, Layer, Redacted } from "effect"
import { TestClock } from "effect/testing"
import { LiveStreamConfig, NodeLiveStream, TokenProvider } from "../src/index.ts"
import { clientConfig } from "./helpers.ts"

const withTokens = <A, E>(
  simOptions: Partial<Simulator.Options>,
  overrides: Record<string, unknown>,
  f: (tokens: TokenProvider.TokenProvider["Service"]) => Effect.Effect<A, E>
) =>
  Effect.gen(function* () {
    const sim = yield* Simulator.Simulator
    const config = yield* clientConfig(sim, overrides)
    const layer = TokenProvider.layer.pipe(
      Layer.provide([LiveStreamConfig.layerValue(config), NodeLiveStream.httpClient])
    )
    return yield* Effect.gen(function* () {
      return yield* f(yield* TokenProvider.TokenProvider)
    }).pipe(Effect.provide(layer))
  }).pipe(Effect.provide(Simulator.layer(simOptions)))

describe("TokenProvider", () => {
  it.live(
    "caches, fetches once for concurrent callers, refreshes at 80% of expires_in, and after invalidate",
    () =>
      withTokens({ tokenLifetimeSeconds: 2 }, {}, (tokens) =>
        Effect.gen(function* () {
          const [a, b, c] = yield* Effect.all([tokens.get, tokens.get, tokens.get], {
            concurrency: "unbounded"
          })
          assert.strictEqual(yield* tokens.fetches, 1, "one fetch in flight, shared")
          assert.strictEqual(Redacted.value(a), Redacted.value(b))
          assert.strictEqual(Redacted.value(b), Redacted.value(c))
          // The token never shows when printed.
          assert.notInclude(String(a), Redacted.value(a))
          assert.notInclude(JSON.stringify({ a }), Redacted.value(a))
          yield* Effect.sleep(1000)
          yield* tokens.get
          assert.strictEqual(yield* tokens.fetches, 1, "still fresh at 50% of its lifetime")
          yield* Effect.sleep(700)
          const d = yield* tokens.get
          assert.strictEqual(yield* tokens.fetches, 2, "refreshed past 80%")
          assert.notStrictEqual(Redacted.value(d), Redacted.value(a))
          yield* tokens.invalidate
          yield* tokens.get
          assert.strictEqual(yield* tokens.fetches, 3, "invalidate forces a fetch")
        })
      )
  )

  it.live("bad credentials are a fatal AuthError that says which, without the secret", () =>
    withTokens({}, { clientSecret: "not-the-secret" }, (tokens) =>
      Effect.gen(function* () {
        const error = yield* Effect.flip(tokens.get)
        assert.strictEqual(error.reason._tag, "BadCredentials")
        assert.isTrue(error._tag === "AuthError" && error.fatal)
        assert.include(error.message, "invalid_client")
        assert.notInclude(error.message, "not-the-secret")
      })
    )
  )

  it.effect(
    "an unreachable IMS is retried with backoff (on the test clock), then reported as ImsUnavailable",
    () =>
      Effect.gen(function* () {
        const config = yield* Config.decode({
          url: "https://livestream.adobe.net/api/1/stream/x",
          clientId: "c",
          clientSecret: "s",
          tokenUrl: "http://127.0.0.1:9/ims/token/v3"
        })
        const layer = TokenProvider.layer.pipe(
          Layer.provide([LiveStreamConfig.layerValue(config), NodeLiveStream.httpClient])
        )
        const fiber = yield* Effect.gen(function* () {
          return yield* Effect.flip((yield* TokenProvider.TokenProvider).get)
        }).pipe(Effect.provide(layer), Effect.forkChild)
        const started = yield* Clock.currentTimeMillis
        while (fiber.pollUnsafe() === undefined) {
          // The refused connection is real I/O; the waits between tries are on the test clock.
          yield* TestClock.withLive(Effect.sleep(5))
          yield* TestClock.adjust("1 second")
        }
        const error = yield* Fiber.join(fiber)
        assert.strictEqual(error.reason._tag, "ImsUnavailable")
        assert.isFalse(error._tag === "AuthError" && error.fatal)
        assert.isAtLeast((yield* Clock.currentTimeMillis) - started, 60_000, "1+2+4+8+16+32 s of backoff")
      })
  )
})
