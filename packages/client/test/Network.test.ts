// The production network path against real servers: the simulator over TLS with a CA made for
// the test, certificates that must not verify, IPv6 loopback, and a name that cannot resolve.
import { assert, describe, it } from "@effect/vitest"
import { Config, Hit } from "@hitstream/core"
import { HitGenerator, Simulator, Tls } from "@hitstream/simulator"
import { Arbitrary, Cause, Effect, Exit, Layer, Schema, Stream } from "effect"
import { Connection, LiveStream, LiveStreamConfig, Network, NodeLiveStream } from "../src/index.ts"
import { fastPolicy } from "./helpers.ts"

type Sim = Simulator.Simulator["Service"]

const idsOf = (hits: ReadonlyArray<Hit.Hit>) => hits.map((h) => `${h.hitIdHigh}:${h.hitIdLow}`)
const expectedIds = (seed: number, n: number) =>
  Array.from({ length: n }, (_, i) => {
    const ids = HitGenerator.idsOf(seed, i)
    return `${ids.hitIdHigh}:${ids.hitIdLow}`
  })

/** The client's services against `sim`, with these network settings and config overrides. */
const client = (sim: Sim, network: Network.Options, overrides: Record<string, unknown> = {}) =>
  Layer.unwrap(
    Effect.map(
      Config.decode({
        url: sim.streamUrl(),
        clientId: sim.clientId,
        clientSecret: sim.clientSecret,
        tokenUrl: sim.tokenUrl(),
        ...fastPolicy,
        ...overrides
      }),
      (config) =>
        NodeLiveStream.layerParts(LiveStreamConfig.layerValue(config), undefined, Network.layer(network))
    )
  )

const take = (n: number) =>
  Effect.gen(function* () {
    const live = yield* LiveStream.LiveStream
    return yield* live.hits.pipe(Stream.take(n), Stream.runCollect)
  })

const failureOf = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.flatMap(Effect.exit(effect), (exit) =>
    Exit.isFailure(exit) ? Effect.succeed(Cause.squash(exit.cause)) : Effect.die("expected a failure")
  )

const certificateCodes = {
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: "issuer",
  SELF_SIGNED_CERT_IN_CHAIN: "issuer",
  DEPTH_ZERO_SELF_SIGNED_CERT: "issuer",
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: "issuer",
  ERR_TLS_CERT_ALTNAME_INVALID: "hostname",
  CERT_HAS_EXPIRED: "validity",
  CERT_NOT_YET_VALID: "validity",
  CERT_REVOKED: "other"
} as const

describe("Network.classify", () => {
  it.prop(
    "a certificate code is fatal, names its check, and says the secret was not sent",
    [
      Arbitrary.schema(
        Schema.Literals(Object.keys(certificateCodes) as Array<keyof typeof certificateCodes>)
      ),
      Arbitrary.schema(
        Schema.Literals(["livestream.adobe.net", "127.0.0.1:8443", "[::1]:8443", "ims-na1.adobelogin.com"])
      ),
      Arbitrary.schema(Schema.Literals(["The token", "The client secret"]))
    ],
    ([code, host, secret]) => {
      const check = certificateCodes[code]
      const failed = Network.classify(
        { message: "x", cause: { code, message: `${code} said node` } },
        `https://${host}/api/1/stream/x`,
        secret
      )
      assert.strictEqual(failed?._tag, "Rejected")
      if (failed?._tag !== "Rejected") return
      const reason = failed.error.reason
      assert.strictEqual(reason._tag, "UntrustedCertificate")
      if (reason._tag !== "UntrustedCertificate") return
      assert.strictEqual(reason.check, check)
      assert.include(failed.error.message, `(${check})`)
      assert.include(failed.error.message, code)
      assert.include(failed.error.message, host)
      assert.include(failed.error.message, `${secret} was not sent`)
      if (check === "issuer") assert.include(failed.error.message, "--ca-file")
    }
  )

  it("a proxy's 407/401/403 is fatal without showing its credentials; 5xx is a loss", () => {
    const tunnel = (status: number, reason: string) => ({
      message: "transport",
      cause: {
        code: "ERR_PROXY_TUNNEL",
        statusCode: status,
        message: `Failed to establish tunnel to livestream.adobe.net:443 via http://alice:s3cret@proxy.corp:3128: HTTP/1.1 ${status} ${reason}`
      }
    })
    for (const [status, reason] of [
      [407, "Proxy Authentication Required"],
      [401, "Unauthorized"],
      [403, "Forbidden"]
    ] as const) {
      const failed = Network.classify(tunnel(status, reason), "https://livestream.adobe.net/x", "The token")
      assert.strictEqual(failed?._tag, "Rejected", String(status))
      if (failed?._tag !== "Rejected") continue
      assert.strictEqual(failed.error.reason._tag, "ProxyRefused")
      assert.include(failed.error.message, `HTTP ${status}`)
      assert.notInclude(failed.error.message, "s3cret")
      assert.include(failed.error.message, status === 403 ? "NO_PROXY" : "user:password@ before the host")
    }
    for (const status of [500, 502, 503, 504]) {
      const failed = Network.classify(
        tunnel(status, "Bad Gateway"),
        "https://livestream.adobe.net/x",
        "The token"
      )
      assert.deepStrictEqual([failed?._tag, failed?._tag === "Loss" && failed.kind], ["Loss", "proxy"])
      if (failed?._tag === "Loss") assert.notInclude(failed.message, "s3cret")
    }
  })

  it("DNS failures are losses whose message says DNS; other errors are losses too", () => {
    const dns = Network.classify(
      {
        message: "x",
        cause: { code: "ENOTFOUND", hostname: "stream.invalid", message: "getaddrinfo ENOTFOUND" }
      },
      "https://stream.invalid/x",
      "The token"
    )
    assert.deepStrictEqual(
      dns?._tag === "Loss" && [dns.kind, dns.message.startsWith("DNS lookup of stream.invalid")],
      ["dns", true]
    )
    const reset = Network.classify(
      { message: "x", cause: { code: "ECONNRESET", message: "read ECONNRESET" } },
      "https://h/x",
      "t"
    )
    assert.deepStrictEqual(reset, { _tag: "Loss", kind: "network", message: "read ECONNRESET" })
    assert.strictEqual(Network.classify(new Error("no code"), "https://h/x", "t"), undefined)
  })
})

describe("Network settings", () => {
  it.effect("a proxy that is not a URL names its setting, without its credentials", () =>
    Effect.gen(function* () {
      const env = yield* Effect.flip(Network.proxyEnv({ env: { HTTPS_PROXY: "alice:s3cret@proxy corp" } }))
      assert.strictEqual(env.setting, "HTTPS_PROXY")
      const flag = yield* Effect.flip(Network.proxyEnv({ proxy: "ftp://proxy:21" }))
      assert.strictEqual(flag.setting, "--proxy")
      assert.include(flag.message, "http://proxy.example.com:3128")
      const given = yield* Network.proxyEnv({
        proxy: "http://p:1",
        env: { NO_PROXY: "internal", HTTPS_PROXY: "http://q:2" }
      })
      assert.deepStrictEqual(given, {
        HTTPS_PROXY: "http://p:1",
        HTTP_PROXY: "http://p:1",
        NO_PROXY: "internal",
        no_proxy: undefined
      })
    })
  )

  it.effect("a CA file that cannot be read, or holds no certificate, names the file and the flag", () =>
    Effect.gen(function* () {
      const missing = yield* Effect.flip(Network.extraCertificates({ caFiles: ["/nonexistent/ca.pem"] }))
      assert.include(missing.message, "/nonexistent/ca.pem")
      assert.include(missing.message, "--ca-file")
      const notPem = yield* Effect.flip(Network.extraCertificates({ caFiles: ["/etc/hostname"] }))
      assert.include(notPem.message, "holds no PEM certificate")
    })
  )

  it.effect("the agents keep TCP keep-alive on (30 s probes), for TLS and through a proxy alike", () =>
    Effect.gen(function* () {
      const plain = yield* Network.makeAgents({ env: {} })
      const proxied = yield* Network.makeAgents({ proxy: "http://127.0.0.1:3128", ca: [] })
      for (const agent of [plain.http, plain.https, proxied.http, proxied.https]) {
        const options = agent as unknown as { readonly keepAlive: boolean; readonly keepAliveMsecs: number }
        assert.deepStrictEqual([options.keepAlive, options.keepAliveMsecs], [true, 30_000])
      }
    }).pipe(Effect.scoped)
  )

  it("describe never shows a proxy password", () => {
    const line = Network.describe({ proxy: "http://alice:s3cret@proxy:3128", env: { NO_PROXY: "localhost" } })
    assert.notInclude(line, "s3cret")
    assert.include(line, "proxy:3128")
    assert.include(line, "NO_PROXY localhost")
  })
})

describe("TLS end to end", () => {
  it.live(
    "over TLS with the test's CA: IMS, a drop, a redirect to the second TLS listener; every record once, byte-exact",
    () =>
      Effect.gen(function* () {
        const tls = yield* Tls.generate()
        const total = 1200
        yield* Effect.gen(function* () {
          const sim = yield* Simulator.Simulator
          assert.isTrue(sim.baseUrl.startsWith("https://127.0.0.1:"))
          const hits = yield* take(total).pipe(
            Effect.provide(client(sim, { caFiles: [tls.caFile] }, { trustedRedirectHosts: "localhost" }))
          )
          assert.deepStrictEqual(
            idsOf(hits),
            expectedIds(sim.options.seed, total),
            "each record exactly once"
          )
          for (const i of [0, 500, total - 1]) {
            assert.strictEqual(
              Hit.recordText(hits[i]),
              HitGenerator.generate(sim.options.seed, i, hits[i].timeGMT!).text,
              "byte for byte"
            )
          }
          const tokens = yield* sim.tokenRequests
          assert.isAtLeast(tokens.filter((t) => t.status === 200).length, 1, "IMS answered over TLS")
          const log = yield* sim.settledLog
          assert.deepStrictEqual(log[0] && [log[0].listener, log[0].status], ["main", 302])
          const redirected = log.filter((a) => a.listener === "redirect")
          assert.isAtLeast(redirected.length, 1)
          assert.isTrue(redirected.every((a) => a.headers.authorization && a.headers.apiKey))
          assert.isAtLeast(log.filter((a) => a.status === 200).length, 2, "a drop, then a new connection")
        }).pipe(
          Effect.provide(
            Simulator.layer({
              tls,
              redirect: "first",
              redirectHost: "localhost",
              rate: Number.POSITIVE_INFINITY,
              totalHits: 1200,
              gracePeriod: 200,
              // Two drops: whether or not the redirect uses up a step, a stream is dropped.
              scenario: [
                { status: 200, after: 400, fault: "drop" },
                { status: 200, after: 400, fault: "drop" }
              ]
            })
          )
        )
      }).pipe(Effect.scoped),
    30_000
  )

  it.live(
    "a CA the client does not trust: a fatal NetworkRejected at once, IMS never got the secret, nothing retried",
    () =>
      Effect.gen(function* () {
        const tls = yield* Tls.generate()
        yield* Effect.gen(function* () {
          const sim = yield* Simulator.Simulator
          // The default policy waits 60 s between attempts: a retry would time this test out.
          const error = yield* failureOf(
            take(1).pipe(
              Effect.provide(client(sim, {}, { minReconnectDelay: "60s", maxReconnectDelay: "2m" }))
            )
          ).pipe(Effect.timeout("10 seconds"))
          assert.instanceOf(error, Network.NetworkRejected)
          const rejected = error as Network.NetworkRejected
          assert.strictEqual(rejected.reason._tag, "UntrustedCertificate")
          assert.include(rejected.message, "(issuer)")
          assert.include(rejected.message, "--ca-file")
          assert.include(rejected.message, "The client secret was not sent")
          assert.deepStrictEqual(yield* sim.tokenRequests, [], "no token request reached IMS")
          assert.deepStrictEqual(yield* sim.log, [], "no stream request reached the server")

          // With a token given as is, the stream's handshake fails before the token is sent.
          const again = yield* failureOf(
            take(1).pipe(
              Effect.provide(
                client(
                  sim,
                  {},
                  {
                    clientSecret: undefined,
                    accessToken: "given-token",
                    minReconnectDelay: "60s",
                    maxReconnectDelay: "2m"
                  }
                )
              )
            )
          ).pipe(Effect.timeout("10 seconds"))
          assert.include((again as Network.NetworkRejected).message, "The token was not sent")
          assert.deepStrictEqual(yield* sim.log, [], "the token never reached the stream endpoint")
        }).pipe(Effect.provide(Simulator.layer({ tls, gracePeriod: 200 })))
      }).pipe(Effect.scoped),
    30_000
  )

  it.live(
    "a certificate for another host name, from a trusted CA: fatal, the check is the host name",
    () =>
      Effect.gen(function* () {
        const tls = yield* Tls.generate({ hosts: ["other.example"] })
        yield* Effect.gen(function* () {
          const sim = yield* Simulator.Simulator
          const error = yield* failureOf(take(1).pipe(Effect.provide(client(sim, { caFiles: [tls.caFile] }))))
          assert.strictEqual((error as Network.NetworkRejected).reason._tag, "UntrustedCertificate")
          const reason = (error as Network.NetworkRejected).reason as Network.UntrustedCertificate
          assert.deepStrictEqual([reason.check, reason.code], ["hostname", "ERR_TLS_CERT_ALTNAME_INVALID"])
          assert.include(reason.message, "is not for the name 127.0.0.1")
          assert.deepStrictEqual(yield* sim.tokenRequests, [])
        }).pipe(Effect.provide(Simulator.layer({ tls, gracePeriod: 200 })))
      }).pipe(Effect.scoped),
    30_000
  )
})

describe("Addresses", () => {
  it.live(
    "IPv6 loopback: https://[::1]:PORT streams, IMS included",
    () =>
      Effect.gen(function* () {
        const tls = yield* Tls.generate()
        yield* Effect.gen(function* () {
          const sim = yield* Simulator.Simulator
          assert.isTrue(sim.streamUrl().startsWith("https://[::1]:"))
          const hits = yield* take(50).pipe(Effect.provide(client(sim, { caFiles: [tls.caFile] })))
          assert.deepStrictEqual(idsOf(hits), expectedIds(sim.options.seed, 50))
        }).pipe(
          Effect.provide(Simulator.layer({ tls, host: "::1", rate: Number.POSITIVE_INFINITY, totalHits: 50 }))
        )
      }).pipe(Effect.scoped),
    30_000
  )

  it.live(
    "a host that does not resolve is a loss that waits, and says DNS",
    () =>
      Effect.gen(function* () {
        const sim = yield* Simulator.Simulator
        const layer = client(
          sim,
          {},
          {
            url: "https://stream.invalid/api/1/stream/demo",
            clientSecret: undefined,
            accessToken: "given-token"
          }
        )
        const refused = yield* Effect.flip(
          Effect.scoped(
            Effect.gen(function* () {
              const connection = yield* Connection.Connection
              return yield* connection.open(0)
            })
          )
        ).pipe(Effect.provide(layer))
        assert.strictEqual(refused._tag, "ConnectionRefused")
        if (refused._tag !== "ConnectionRefused") return
        assert.strictEqual(refused.end._tag, "NetworkError")
        assert.include(refused.message, "DNS lookup of stream.invalid failed")
        // In the stream, the slot waits to try again rather than failing.
        const state = yield* Effect.gen(function* () {
          const live = yield* LiveStream.LiveStream
          yield* live.hits.pipe(Stream.runDrain, Effect.forkScoped)
          for (let i = 0; i < 200; i++) {
            const [slot] = yield* live.slots
            if (slot?.state._tag === "Waiting") return slot.state
            yield* Effect.sleep(25)
          }
          return undefined
        }).pipe(Effect.scoped, Effect.provide(layer))
        assert.strictEqual(state?._tag, "Waiting")
        if (state?._tag === "Waiting") assert.include(state.reason, "DNS")
      }).pipe(Effect.provide(Simulator.layer({ gracePeriod: 200 }))),
    30_000
  )
})
