// The library's layers validate their configuration exactly as the CLI does (Config.decode):
// a bad value is a typed ConfigError naming the field, before any connection is made.
import { assert, describe, it } from "@effect/vitest"
import { Simulator } from "@hitstream/simulator"
import type { Config } from "@hitstream/core"
import { Cause, Duration, Effect, Exit, Layer, Redacted, Stream } from "effect"
import { LiveStream, LiveStreamConfig, NodeLiveStream } from "../src/index.ts"

const base = {
  url: "https://livestream.adobe.net/api/1/stream/my-endpoint",
  clientId: "client-1",
  clientSecret: Redacted.make("s3cr3t")
}

// Builds a layer and returns its typed failure; a defect fails the test.
const buildError = <A, E>(layer: Layer.Layer<A, E>) =>
  Effect.gen(function* () {
    const exit = yield* Effect.exit(Layer.build(layer))
    assert.isTrue(Exit.isFailure(exit), "the layer must not build")
    if (Exit.isSuccess(exit)) return undefined as never
    assert.isFalse(Cause.hasDies(exit.cause), `a typed error, not a defect: ${Cause.pretty(exit.cause)}`)
    return Cause.squash(exit.cause) as E
  }).pipe(Effect.scoped)

describe("LiveStreamConfig.layer and NodeLiveStream.layer", () => {
  it.effect.each([
    [{ maxConnections: 99 }, "maxConnections"],
    [{ clientId: "" }, "clientId"],
    [{ dedupCapacity: -5 }, "dedupCapacity"],
    [{ bufferSize: 0 }, "bufferSize"],
    [{ url: "http//missing-colon/x" }, "url"],
    [{ url: "::" }, "url"],
    [{ clientId: "abc\n" }, "clientId"]
  ] as const)("%j is a ConfigError naming the field", ([overrides, field]) =>
    Effect.gen(function* () {
      const input = { ...base, ...overrides }
      for (const error of [
        yield* buildError(LiveStreamConfig.layer(input)),
        yield* buildError(NodeLiveStream.layer(input))
      ]) {
        assert.strictEqual(error._tag, "ConfigError")
        assert.strictEqual(error._tag === "ConfigError" && error.field, field)
        assert.include(error.message, field)
      }
    })
  )

  it.live("a client id with a newline never reaches the server", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.Simulator
      const layer = NodeLiveStream.layer({
        url: sim.streamUrl(),
        clientId: `${sim.clientId}\n`,
        accessToken: "a-token",
        minReconnectDelay: "400ms"
      })
      const exit = yield* Effect.exit(
        Effect.flatMap(LiveStream.LiveStream, (live) => live.hits.pipe(Stream.take(1), Stream.runDrain)).pipe(
          Effect.provide(layer),
          Effect.timeout("5 seconds")
        )
      )
      assert.isTrue(Exit.isFailure(exit))
      if (Exit.isFailure(exit))
        assert.strictEqual((Cause.squash(exit.cause) as { _tag: string })._tag, "ConfigError")
      assert.strictEqual((yield* sim.log).length, 0, "no connection was attempted")
    }).pipe(Effect.provide(Simulator.layer({ rate: Number.POSITIVE_INFINITY, totalHits: 10 })))
  )

  it.live("a configuration written in code, with Redacted and Duration values, streams", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.Simulator
      const hits = yield* Effect.flatMap(LiveStream.LiveStream, (live) =>
        live.hits.pipe(Stream.take(10), Stream.runCollect)
      ).pipe(
        Effect.provide(
          NodeLiveStream.layer({
            url: new URL(sim.streamUrl()).href,
            clientId: sim.clientId,
            clientSecret: Redacted.make(sim.clientSecret),
            tokenUrl: sim.tokenUrl(),
            minReconnectDelay: "400ms",
            maxReconnectDelay: "600ms"
          })
        )
      )
      assert.strictEqual(hits.length, 10)
    }).pipe(Effect.provide(Simulator.layer({ rate: Number.POSITIVE_INFINITY, totalHits: 10 })))
  )
})

describe("inputs as Effect takes them", () => {
  const decode = (input: Config.Input) =>
    Effect.flatMap(Effect.service(LiveStreamConfig.LiveStreamConfig), Effect.succeed).pipe(
      Effect.provide(LiveStreamConfig.layer(input))
    )

  it.effect.each([
    ["90 seconds", 90_000],
    [90_000, 90_000],
    [Duration.seconds(90), 90_000],
    [{ minutes: 1.5 }, 90_000],
    [[90, 0] as const, 90_000],
    ["90s", 90_000],
    ["90", 90_000],
    ["1.5m", 90_000],
    ["2 minutes", 120_000]
  ] as const)("a duration written as %j is %i ms", ([minReconnectDelay, millis]) =>
    Effect.gen(function* () {
      const config = yield* decode({ ...base, minReconnectDelay, maxReconnectDelay: "1 hour" })
      assert.strictEqual(config.policy.minReconnectDelay, millis)
    })
  )

  it.effect("a duration that is none is a ConfigError naming the field and how to write it", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(decode({ ...base, connectTimeout: "soon" }))
      assert.strictEqual(error.field, "connectTimeout")
      assert.include(error.message, "it is not a duration")
    })
  )

  it.effect("scopes as an array or a comma-separated string", () =>
    Effect.gen(function* () {
      for (const scopes of [["openid", "AdobeID"], "openid, AdobeID"]) {
        const config = yield* decode({ ...base, scopes })
        assert.deepStrictEqual(config.auth._tag === "ClientCredentials" && config.auth.scopes, [
          "openid",
          "AdobeID"
        ])
      }
    })
  )

  it.effect("a secret as a string or a Redacted is Redacted from then on, and never shown", () =>
    Effect.gen(function* () {
      for (const clientSecret of ["s3cr3t", Redacted.make("s3cr3t")]) {
        const config = yield* decode({ ...base, clientSecret })
        assert.isTrue(
          config.auth._tag === "ClientCredentials" && Redacted.isRedacted(config.auth.clientSecret)
        )
        assert.notInclude(JSON.stringify(config), "s3cr3t")
        assert.notInclude(String(Object.values(config)), "s3cr3t")
      }
      const error = yield* Effect.flip(
        decode({ url: base.url, clientId: base.clientId, accessToken: "tok\n" })
      )
      assert.strictEqual(error.field, "accessToken")
      assert.notInclude(error.message, "tok")
    })
  )
})
