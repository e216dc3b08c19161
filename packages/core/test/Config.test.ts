import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Option, Redacted } from "effect"
import { Config } from "../src/index.ts"

const env = {
  HITSTREAM_URL: "https://livestream.adobe.net/api/1/stream/my-endpoint",
  HITSTREAM_CLIENT_ID: "client-1",
  HITSTREAM_CLIENT_SECRET: "s3cr3t-value"
}

describe("Config", () => {
  it.effect("loads HITSTREAM_* variables with defaults", () =>
    Effect.gen(function* () {
      const config = yield* Config.fromEnv(env)
      assert.strictEqual(config.url, env.HITSTREAM_URL)
      assert.strictEqual(config.clientId, "client-1")
      assert.strictEqual(config.maxConnections, 1)
      assert.strictEqual(config.connections, 1)
      assert.strictEqual(config.policy.minReconnectDelay, 60_000)
      assert.strictEqual(config.policy.maxReconnectDelay, 600_000)
      assert.strictEqual(config.dedupCapacity, 1_000_000)
      assert.deepStrictEqual(config.trustedRedirectHosts, ["livestream.adobe.net", "*.adobe.net"])
      assert.strictEqual(config.auth._tag, "ClientCredentials")
      if (config.auth._tag === "ClientCredentials") {
        assert.strictEqual(Redacted.value(config.auth.clientSecret), "s3cr3t-value")
        assert.strictEqual(config.auth.tokenUrl, Config.defaultTokenUrl)
        // The secret never shows when the config is printed.
        assert.notInclude(JSON.stringify(config), "s3cr3t-value")
        assert.notInclude(String(config.auth.clientSecret), "s3cr3t-value")
      }
    })
  )

  it.effect("reads every option, durations and lists included, and the newer reset spellings", () =>
    Effect.gen(function* () {
      const config = yield* Config.fromEnv({
        ...env,
        HITSTREAM_MAX_CONNECTIONS: "4",
        HITSTREAM_CONNECTIONS: "2",
        HITSTREAM_RESET: "earliest",
        HITSTREAM_SMOOTHING: "true",
        HITSTREAM_SMOOTHING_BUCKET_SIZE: "300",
        HITSTREAM_MIN_RECONNECT_DELAY: "90s",
        HITSTREAM_MAX_RECONNECT_DELAY: "15m",
        HITSTREAM_STALL_TIMEOUT: "2m",
        HITSTREAM_TRUSTED_REDIRECT_HOSTS: "a.example, *.adobe.net",
        HITSTREAM_DEDUP_CAPACITY: "5000",
        HITSTREAM_SCOPES: "openid,AdobeID"
      })
      assert.strictEqual(config.maxConnections, 4)
      assert.strictEqual(config.connections, 2)
      assert.strictEqual(config.reset, "smallest")
      assert.isTrue(config.smoothing)
      assert.strictEqual(config.smoothingBucketSize, 300)
      assert.strictEqual(config.policy.minReconnectDelay, 90_000)
      assert.strictEqual(config.policy.maxReconnectDelay, 900_000)
      assert.strictEqual(Duration.toMillis(config.stallTimeout!), 120_000)
      assert.deepStrictEqual(config.trustedRedirectHosts, ["a.example", "*.adobe.net"])
      assert.strictEqual(config.dedupCapacity, 5000)
      if (config.auth._tag === "ClientCredentials")
        assert.deepStrictEqual(config.auth.scopes, ["openid", "AdobeID"])
    })
  )

  it.effect.each([
    [{ HITSTREAM_MAX_CONNECTIONS: "9" }, "maxConnections", "9"],
    [{ HITSTREAM_MAX_CONNECTIONS: "2", HITSTREAM_CONNECTIONS: "3" }, "connections", "3"],
    [{ HITSTREAM_SMOOTHING_BUCKET_SIZE: "7201" }, "smoothingBucketSize", "7200"],
    [{ HITSTREAM_MIN_RECONNECT_DELAY: "soon" }, "soon", "60s"],
    [{ HITSTREAM_URL: "not a url" }, "url", "not a url"],
    [{ HITSTREAM_RESET: "oldest" }, "reset", "oldest"],
    [{ HITSTREAM_MIN_RECONNECT_DELAY: "5m", HITSTREAM_MAX_RECONNECT_DELAY: "1m" }, "maxReconnectDelay", "1m"]
  ] as const)("a bad value is an error naming the field and the value: %j", ([overrides, field, value]) =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(Config.fromEnv({ ...env, ...overrides }))
      assert.strictEqual(error._tag, "ConfigError")
      assert.include(error.message, field)
      assert.include(error.message, value)
    })
  )

  it.effect("requires exactly one way to authenticate", () =>
    Effect.gen(function* () {
      const none = yield* Effect.flip(Config.fromEnv({ ...env, HITSTREAM_CLIENT_SECRET: undefined }))
      assert.include(none.message, "HITSTREAM_ACCESS_TOKEN")
      const both = yield* Effect.flip(Config.fromEnv({ ...env, HITSTREAM_ACCESS_TOKEN: "tok" }))
      assert.strictEqual(both.field, "accessToken")
      const token = yield* Config.decode({ url: env.HITSTREAM_URL, clientId: "c", accessToken: "tok" })
      assert.strictEqual(token.auth._tag, "StaticToken")
    })
  )

  it("parses the duration forms operators write", () => {
    const ms = (s: string) => Option.map(Config.parseDuration(s), Duration.toMillis)
    assert.deepStrictEqual(ms("60s"), Option.some(60_000))
    assert.deepStrictEqual(ms("2m"), Option.some(120_000))
    assert.deepStrictEqual(ms("1500ms"), Option.some(1500))
    assert.deepStrictEqual(ms("1h"), Option.some(3_600_000))
    assert.deepStrictEqual(ms("90 seconds"), Option.some(90_000))
    assert.deepStrictEqual(ms("45"), Option.some(45_000))
    assert.isTrue(Option.isNone(Config.parseDuration("-1s")))
    assert.isTrue(Option.isNone(Config.parseDuration("1 fortnight")))
  })
})
