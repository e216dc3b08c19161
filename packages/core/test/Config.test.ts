import { assert, describe, it } from "@effect/vitest"
import { Arbitrary, Duration, Effect, Option, Redacted, Schema } from "effect"
import { Config, ReconnectPolicy } from "../src/index.ts"

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
      assert.strictEqual(config.policy.maxReconnectDelay, ReconnectPolicy.defaults.maxReconnectDelay)
      assert.isFalse(config.tracePropagation, "no trace headers to third parties unless asked")
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

  describe("from code, as the library's layers take it", () => {
    const base = { url: env.HITSTREAM_URL, clientId: "client-1", clientSecret: Redacted.make("s3cr3t-value") }

    it.effect.each([
      [{ maxConnections: 99 }, "maxConnections", "maxConnections is 99: it must be an integer from 1 to 8"],
      [{ clientId: "" }, "clientId", "clientId is required: the IMS client id"],
      [
        { dedupCapacity: -5 },
        "dedupCapacity",
        "dedupCapacity is -5: it must be an integer from 1 to 100000000"
      ],
      [{ bufferSize: 0 }, "bufferSize", "bufferSize is 0: it must be an integer from 1 to 1000000"],
      [{ url: "::not a url" }, "url", 'url is "::not a url": it must be an absolute URL, such as https://'],
      [{ url: "ftp://host/x" }, "url", 'url is "ftp://host/x": it must be an http(s) URL'],
      [{ tokenUrl: "ims" }, "tokenUrl", "such as https://ims-na1.adobelogin.com/ims/token/v3"],
      [{ connections: 3, maxConnections: 2 }, "connections", "connections is 3"]
    ] as const)("%j is a ConfigError naming the field", ([overrides, field, message]) =>
      Effect.gen(function* () {
        const error = yield* Effect.flip(Config.decode({ ...base, ...overrides }))
        assert.strictEqual(error._tag, "ConfigError")
        assert.strictEqual(error.field, field)
        assert.include(error.message, message)
      })
    )

    it.effect("takes decoded values (Redacted, Duration, lists) and text alike", () =>
      Effect.gen(function* () {
        const config = yield* Config.decode({
          ...base,
          minReconnectDelay: Duration.seconds(90),
          maxReconnectDelay: "2m",
          stallTimeout: Duration.millis(1500),
          trustedRedirectHosts: ["a.example", "*.adobe.net"],
          scopes: "openid,AdobeID",
          reset: "earliest",
          tracePropagation: true
        })
        assert.strictEqual(config.policy.minReconnectDelay, 90_000)
        assert.strictEqual(config.policy.maxReconnectDelay, 120_000)
        assert.strictEqual(Duration.toMillis(config.stallTimeout!), 1500)
        assert.deepStrictEqual(config.trustedRedirectHosts, ["a.example", "*.adobe.net"])
        assert.strictEqual(config.reset, "smallest")
        assert.isTrue(config.tracePropagation)
        assert.strictEqual(config.auth._tag, "ClientCredentials")
        if (config.auth._tag === "ClientCredentials") {
          assert.strictEqual(Redacted.value(config.auth.clientSecret), "s3cr3t-value")
          assert.deepStrictEqual(config.auth.scopes, ["openid", "AdobeID"])
        }
        // The result is an instance of the schema the type is derived from.
        assert.isTrue(Schema.is(Config.ClientConfig)(config))
      })
    )
  })

  describe("values that go into HTTP headers", () => {
    it.effect("a client id with a newline is refused before any connection, naming the variable", () =>
      Effect.gen(function* () {
        const error = yield* Effect.flip(Config.fromEnv({ ...env, HITSTREAM_CLIENT_ID: "abc\n" }))
        assert.strictEqual(error.field, "clientId")
        assert.include(error.message, "HITSTREAM_CLIENT_ID (clientId)")
        assert.include(error.message, "line feed (\\n) at position 4")
        assert.include(error.message, "HTTP header")
      })
    )

    it.effect("a token with a carriage return is refused without showing the token", () =>
      Effect.gen(function* () {
        const error = yield* Effect.flip(
          Config.decode({ url: env.HITSTREAM_URL, clientId: "c", accessToken: "tok-SECRET\r\n" })
        )
        assert.strictEqual(error.field, "accessToken")
        assert.include(error.message, "carriage return")
        assert.notInclude(error.message, "tok-SECRET")
      })
    )

    // Visible ASCII is what ids and bearer tokens are made of; anything else cannot be sent as is.
    const visible = Arbitrary.schema(
      Schema.String.check(Schema.isMinLength(1), Schema.isPattern(/^[\x21-\x7e]+$/))
    )
    const anyText = Arbitrary.schema(Schema.String)
    it.effect.prop(
      "a client id or token is accepted exactly when every character is visible ASCII; errors never show a token",
      [anyText, visible],
      ([value, safe]) =>
        Effect.gen(function* () {
          const ok = value.length > 0 && /^[\x21-\x7e]+$/.test(value)
          assert.strictEqual(Config.headerProblem(value) === undefined, /^[\x21-\x7e]*$/.test(value))
          const asId = yield* Effect.result(
            Config.decode({ url: env.HITSTREAM_URL, clientId: value, accessToken: safe })
          )
          assert.strictEqual(asId._tag === "Success", ok)
          // A marker no message holds, so a leak of the token is a leak of the marker.
          const token = `Tk7q${safe}${value}`
          const asToken = yield* Effect.result(
            Config.decode({ url: env.HITSTREAM_URL, clientId: "c", accessToken: token })
          )
          assert.strictEqual(asToken._tag === "Success", /^[\x21-\x7e]+$/.test(token))
          if (asToken._tag === "Failure") {
            assert.strictEqual(asToken.failure.field, "accessToken")
            assert.notInclude(asToken.failure.message, "Tk7q")
          }
        })
    )
  })
})
