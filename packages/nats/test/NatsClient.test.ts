import { assert, describe, it } from "@effect/vitest"
import { Config } from "@hitstream/core"
import { Duration, Effect, Exit, Option, Redacted } from "effect"
import { inspect } from "node:util"
import { FleetBucket, JetStreamSink, NatsClient } from "../src/index.ts"

const parseDuration = (text: string) => Option.getOrUndefined(Config.parseDuration(text))

const failure = <A, E extends { readonly message: string }>(effect: Effect.Effect<A, E>) => {
  const exit = Effect.runSyncExit(effect)
  assert.isTrue(Exit.isFailure(exit))
  return Exit.isFailure(exit) ? String((exit.cause as any).reasons?.[0]?.error?.message) : ""
}

describe("NatsClient.parseUrl", () => {
  it("reads servers, TLS, path and parameters", () => {
    const url = Effect.runSync(
      NatsClient.parseUrl("sink", "tls://a.example:4222,10.0.0.2:4223/HITS?subjectPrefix=x&replicas=3")
    )
    assert.isTrue(url.tls)
    assert.deepStrictEqual(url.servers, ["a.example:4222", "10.0.0.2:4223"])
    assert.strictEqual(url.path, "HITS")
    assert.deepStrictEqual(url.params, { subjectPrefix: "x", replicas: "3" })
    assert.isFalse(Effect.runSync(NatsClient.parseUrl("fleet", "nats://127.0.0.1:4222")).tls)
  })

  it("refuses a user or password in the URL, naming where credentials go instead, without echoing them", () => {
    const message = failure(NatsClient.parseUrl("sink", "nats://alice:s3cret@127.0.0.1:4222/HITS"))
    assert.include(message, "HITSTREAM_NATS_CREDS")
    assert.include(message, "--nats-creds-file")
    assert.notInclude(message, "s3cret")
  })

  it("refuses what is not a nats:// or tls:// URL, naming the flag", () => {
    assert.include(failure(NatsClient.parseUrl("fleet", "http://127.0.0.1:4222")), "--fleet")
    assert.include(failure(NatsClient.parseUrl("sink", "nats://bad host:1/X")), "not HOST or HOST:PORT")
  })

  it("keeps credentials redacted wherever they are printed", () => {
    const credentials: NatsClient.Credentials = {
      _tag: "UserPassword",
      user: "alice",
      password: Redacted.make("s3cret")
    }
    assert.notInclude(JSON.stringify(credentials), "s3cret")
    assert.notInclude(String(credentials.password), "s3cret")
    assert.notInclude(inspect(credentials, { depth: 5 }), "s3cret")
    assert.strictEqual(Redacted.value(credentials.password), "s3cret")
  })
})

describe("sink and fleet URL options", () => {
  it("takes the stream and its parameters from the sink URL", () => {
    const url = Effect.runSync(
      NatsClient.parseUrl("sink", "nats://127.0.0.1:4222/HITS?replicas=3&maxInFlight=64")
    )
    const options = Effect.runSync(JetStreamSink.optionsFromUrl(url, parseDuration))
    assert.strictEqual(options.stream, "HITS")
    assert.strictEqual(options.replicas, 3)
    assert.strictEqual(options.maxInFlight, 64)
    assert.strictEqual(options.subjectPrefix, "hits")
    assert.strictEqual(Duration.toMillis(options.duplicateWindow), 600_000)
  })

  it("says what is wrong with a sink URL", () => {
    const parse = (text: string) =>
      failure(
        Effect.flatMap(NatsClient.parseUrl("sink", text), (u) =>
          JetStreamSink.optionsFromUrl(u, parseDuration)
        )
      )
    assert.include(parse("nats://127.0.0.1:4222"), "needs a stream name")
    assert.include(parse("nats://127.0.0.1:4222/HITS?replicas=7"), 'replicas is "7"')
    assert.include(parse("nats://127.0.0.1:4222/HITS?subjectPrefix=a..b"), "subjectPrefix")
    assert.include(parse("nats://127.0.0.1:4222/HITS?color=red"), 'unknown parameter "color"')
  })

  it("defaults the fleet bucket and reads its TTL and replicas", () => {
    const options = (text: string) =>
      Effect.runSync(
        Effect.flatMap(NatsClient.parseUrl("fleet", text), (u) =>
          FleetBucket.optionsFromUrl(u, parseDuration)
        )
      )
    assert.strictEqual(options("nats://127.0.0.1:4222").bucket, "hitstream")
    const custom = options("nats://127.0.0.1:4222/leases?replicas=3&ttl=30s")
    assert.strictEqual(custom.bucket, "leases")
    assert.strictEqual(custom.replicas, 3)
    assert.strictEqual(Duration.toMillis(custom.ttl), 30_000)
    assert.include(
      failure(
        Effect.flatMap(NatsClient.parseUrl("fleet", "nats://127.0.0.1:4222/x?ttl=10ms"), (u) =>
          FleetBucket.optionsFromUrl(u, parseDuration)
        )
      ),
      "at least 1s"
    )
  })

  it("names keys after the stream's host and path only", () => {
    assert.strictEqual(
      FleetBucket.streamKey("https://user:pw@livestream.adobe.net/api/1/stream/demo?token=x"),
      "livestream_adobe_net_api_1_stream_demo"
    )
  })
})
