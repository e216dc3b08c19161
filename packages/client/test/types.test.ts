// The public types, pinned: each public layer's output, error and requirements; the errors `hits`
// may fail with; `catchReason` and `catchTag` on every fatal reason. Checked by `tsc -b` (npm run
// typecheck); the runtime half catches real fatal errors from the simulator.
import { assert, describe, expectTypeOf, it } from "@effect/vitest"
import { type Config, type Hit, ReconnectPolicy } from "@hitstream/core"
import { Simulator } from "@hitstream/simulator"
import { Effect, type FileSystem, type Layer, type Path, Stream } from "effect"
import type { HttpClient } from "effect/http"
import {
  type Connection,
  ConnectionJournal,
  LiveStream,
  LiveStreamConfig,
  type Network,
  NodeLiveStream,
  type TokenProvider
} from "../src/index.ts"

type Live = LiveStream.LiveStream
type ConfigErrors = Config.ConfigError | Network.NetworkSettingsError

describe("public layers", () => {
  it("provide what they say, fail only with the documented errors, need nothing else", () => {
    const input = { url: "https://x.adobe.net/api/1/stream/a", clientId: "c", clientSecret: "s" }
    expectTypeOf(NodeLiveStream.layer(input)).toEqualTypeOf<Layer.Layer<Live, ConfigErrors>>()
    expectTypeOf(NodeLiveStream.layerFromEnv).toEqualTypeOf<Layer.Layer<Live, ConfigErrors>>()
    expectTypeOf(NodeLiveStream.layerWith(LiveStreamConfig.layer(input))).toEqualTypeOf<
      Layer.Layer<Live, ConfigErrors>
    >()
    expectTypeOf(NodeLiveStream.layerParts(LiveStreamConfig.layer(input))).toEqualTypeOf<
      Layer.Layer<NodeLiveStream.Parts, ConfigErrors>
    >()
    expectTypeOf<NodeLiveStream.Parts>().toEqualTypeOf<
      | Live
      | Connection.Connection
      | TokenProvider.TokenProvider
      | ConnectionJournal.ConnectionJournal
      | LiveStreamConfig.LiveStreamConfig
    >()
    expectTypeOf(LiveStreamConfig.layer(input)).toEqualTypeOf<
      Layer.Layer<LiveStreamConfig.LiveStreamConfig, Config.ConfigError>
    >()
    expectTypeOf(LiveStreamConfig.layerFromEnv).toEqualTypeOf<
      Layer.Layer<LiveStreamConfig.LiveStreamConfig, Config.ConfigError>
    >()
    expectTypeOf(LiveStreamConfig.layerValue).returns.toEqualTypeOf<
      Layer.Layer<LiveStreamConfig.LiveStreamConfig>
    >()
    expectTypeOf(LiveStream.layer).toEqualTypeOf<
      Layer.Layer<
        Live,
        never,
        | LiveStreamConfig.LiveStreamConfig
        | Connection.Connection
        | TokenProvider.TokenProvider
        | ConnectionJournal.ConnectionJournal
      >
    >()
    expectTypeOf(ConnectionJournal.layerMemory).toEqualTypeOf<
      Layer.Layer<ConnectionJournal.ConnectionJournal>
    >()
    expectTypeOf(ConnectionJournal.layerFile).returns.toEqualTypeOf<
      Layer.Layer<ConnectionJournal.ConnectionJournal, never, FileSystem.FileSystem | Path.Path>
    >()
    expectTypeOf(NodeLiveStream.fileJournal).returns.toEqualTypeOf<
      Layer.Layer<ConnectionJournal.ConnectionJournal>
    >()
    expectTypeOf(NodeLiveStream.httpClient).toEqualTypeOf<
      Layer.Layer<HttpClient.HttpClient, Network.NetworkSettingsError>
    >()
    expectTypeOf(Simulator.layer).returns.toEqualTypeOf<
      Layer.Layer<Simulator.Simulator, Simulator.SimulatorStartError>
    >()
  })
})

describe("LiveStream.hits", () => {
  it("emits hits and fails only with the documented errors", () => {
    expectTypeOf<Live["Service"]["hits"]>().toEqualTypeOf<
      Stream.Stream<Hit.Hit, LiveStream.LiveStreamError>
    >()
    expectTypeOf<LiveStream.LiveStreamError>().toEqualTypeOf<
      | ReconnectPolicy.StreamFatalError
      | Connection.RedirectRejected
      | TokenProvider.AuthError
      | Network.NetworkRejected
      | LiveStream.LiveStreamDefect
    >()
    expectTypeOf<ReconnectPolicy.StreamFatalReason["_tag"]>().toEqualTypeOf<
      | "BadRequest"
      | "NotFound"
      | "MethodNotAllowed"
      | "NotAcceptable"
      | "ApiVersionNotEnabled"
      | "HttpVersionNotSupported"
      | "AuthRejected"
      | "UnexpectedStatus"
    >()
  })

  it("catchReason reaches every fatal reason, with its own type; catchTag the error", () => {
    // Type-level only: never called.
    const typesOnly = (drain: Effect.Effect<void, LiveStream.LiveStreamError>) => {
      const status = <R extends { readonly status: number }>(reason: R) => Effect.succeed(reason.status)
      const on = {
        BadRequest: drain.pipe(Effect.catchReason("StreamFatalError", "BadRequest", status)),
        NotFound: drain.pipe(Effect.catchReason("StreamFatalError", "NotFound", status)),
        MethodNotAllowed: drain.pipe(Effect.catchReason("StreamFatalError", "MethodNotAllowed", status)),
        NotAcceptable: drain.pipe(Effect.catchReason("StreamFatalError", "NotAcceptable", status)),
        ApiVersionNotEnabled: drain.pipe(
          Effect.catchReason("StreamFatalError", "ApiVersionNotEnabled", status)
        ),
        HttpVersionNotSupported: drain.pipe(
          Effect.catchReason("StreamFatalError", "HttpVersionNotSupported", status)
        ),
        AuthRejected: drain.pipe(Effect.catchReason("StreamFatalError", "AuthRejected", status)),
        UnexpectedStatus: drain.pipe(Effect.catchReason("StreamFatalError", "UnexpectedStatus", status))
      }
      expectTypeOf(on.NotFound).toEqualTypeOf<Effect.Effect<number | void, LiveStream.LiveStreamError>>()
      drain.pipe(
        Effect.catchReason("StreamFatalError", "NotFound", (reason, error) => {
          expectTypeOf(reason).toEqualTypeOf<ReconnectPolicy.NotFound>()
          expectTypeOf(error.reason).toEqualTypeOf<ReconnectPolicy.NotFound>()
          return Effect.void
        }),
        Effect.catchReason("AuthError", "BadCredentials", (reason) => {
          expectTypeOf(reason).toEqualTypeOf<TokenProvider.BadCredentials>()
          return Effect.void
        }),
        Effect.catchReason("RedirectRejected", "UntrustedHost", (reason) => {
          expectTypeOf(reason).toEqualTypeOf<Connection.UntrustedHost>()
          return Effect.void
        })
      )
      const tagged = drain.pipe(Effect.catchTag("StreamFatalError", (e) => Effect.succeed(e.reason._tag)))
      expectTypeOf(tagged).toEqualTypeOf<
        Effect.Effect<
          void | ReconnectPolicy.StreamFatalReason["_tag"],
          Exclude<LiveStream.LiveStreamError, ReconnectPolicy.StreamFatalError>
        >
      >()
      return on
    }
    expectTypeOf(typesOnly).toBeFunction()
  })
})

describe("fatal reasons at run time", () => {
  const client = (sim: Simulator.Simulator["Service"], overrides: Partial<Config.Input>) =>
    NodeLiveStream.layer({
      url: sim.streamUrl(),
      tokenUrl: sim.tokenUrl(),
      clientId: sim.clientId,
      clientSecret: sim.clientSecret,
      ...overrides
    })

  const drain = Effect.flatMap(Effect.service(LiveStream.LiveStream), (live) => Stream.runDrain(live.hits))

  it.live("a 404 is caught by catchReason(StreamFatalError, NotFound), with its status and message", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.Simulator
      const caught = yield* drain.pipe(
        Effect.map(() => "no error"),
        Effect.catchReason("StreamFatalError", "NotFound", (reason) =>
          Effect.succeed(`${reason._tag} ${reason.status}: ${reason.message}`)
        ),
        Effect.provide(client(sim, { url: sim.streamUrl("nope") }))
      )
      assert.match(
        caught,
        /^NotFound 404: HTTP 404: The endpoint is unknown, or the stream was disabled after 90 days/
      )
    }).pipe(Effect.provide(Simulator.layer({ gracePeriod: 200 })))
  )

  it.live(
    "a refused secret is caught by catchReason(AuthError, BadCredentials); catchTag sees the reason",
    () =>
      Effect.gen(function* () {
        const sim = yield* Simulator.Simulator
        const layer = client(sim, { clientSecret: "not-the-secret" })
        const caught = yield* drain.pipe(
          Effect.map(() => "no error"),
          Effect.catchReason("AuthError", "BadCredentials", (reason) => Effect.succeed(reason._tag)),
          Effect.provide(layer)
        )
        assert.strictEqual(caught, "BadCredentials")
        const tagged = yield* drain.pipe(
          Effect.map(() => "no error"),
          Effect.catchTag("AuthError", (error) => Effect.succeed(`${error.reason._tag}: ${error.message}`)),
          Effect.provide(layer)
        )
        assert.match(tagged, /^BadCredentials: IMS refused the credentials/)
        assert.notInclude(tagged, "not-the-secret")
      }).pipe(Effect.provide(Simulator.layer({ gracePeriod: 200 })))
  )

  it("every fatal status maps to its reason class, message kept", () => {
    for (const [status, Reason] of [
      [400, ReconnectPolicy.BadRequest],
      [404, ReconnectPolicy.NotFound],
      [405, ReconnectPolicy.MethodNotAllowed],
      [406, ReconnectPolicy.NotAcceptable],
      [424, ReconnectPolicy.ApiVersionNotEnabled],
      [505, ReconnectPolicy.HttpVersionNotSupported],
      [418, ReconnectPolicy.UnexpectedStatus]
    ] as const) {
      const error = ReconnectPolicy.fatalFor(status, "said")!
      assert.isTrue(error.reason instanceof Reason, `${status} is ${error.reason._tag}`)
      assert.strictEqual(error.status, status)
      assert.strictEqual(error.message, error.reason.message)
      assert.include(error.message, `HTTP ${status}`)
      assert.include(error.message, "The server said: said")
    }
  })
})
