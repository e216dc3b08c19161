// What the client sends and shows: no trace headers to third parties unless asked, a response
// Node cannot parse is a protocol error logged once, and no URL password in any log, status,
// error or file name. Against a tiny node:http server (for what the simulator cannot send) and
// the real simulator.
import { assert, describe, it } from "@effect/vitest"
import { Simulator } from "@hitstream/simulator"
import { Effect, Exit, Fiber, Logger, Redacted, Stream } from "effect"
import * as fs from "node:fs"
import * as http from "node:http"
import * as os from "node:os"
import * as path from "node:path"
import * as zlib from "node:zlib"
import { Connection, LiveStream, LiveStreamConfig, NodeLiveStream } from "../src/index.ts"

interface Seen {
  readonly method: string
  readonly path: string
  readonly headers: http.IncomingHttpHeaders
}

// A loopback server for the duration of the scope; every request it saw, in order.
const server = (handler: (req: http.IncomingMessage, res: http.ServerResponse) => void) =>
  Effect.acquireRelease(
    Effect.callback<{ readonly base: string; readonly seen: Array<Seen>; readonly server: http.Server }>(
      (resume) => {
        const seen: Array<Seen> = []
        const s = http.createServer((req, res) => {
          seen.push({ method: req.method ?? "", path: req.url ?? "", headers: req.headers })
          handler(req, res)
        })
        s.listen(0, "127.0.0.1", () => {
          const { port } = s.address() as { port: number }
          resume(Effect.succeed({ base: `http://127.0.0.1:${port}`, seen, server: s }))
        })
      }
    ),
    ({ server: s }) =>
      Effect.callback<void>((resume) => {
        s.closeAllConnections()
        s.close(() => resume(Effect.void))
      })
  )

// An IMS token endpoint and a stream that answers 200 with an empty gzip body.
const imsAndEmptyStream = (req: http.IncomingMessage, res: http.ServerResponse) => {
  if (req.url?.startsWith("/ims/token")) {
    res.writeHead(200, { "content-type": "application/json" })
    res.end(JSON.stringify({ access_token: "tok", token_type: "bearer", expires_in: 86_400_000 }))
  } else {
    res.writeHead(200, { "content-type": "application/json", "content-encoding": "gzip" })
    res.end(zlib.gzipSync(""))
  }
}

// Every log line as logfmt (message, annotations, cause), with its level.
const collectLogs = () => {
  const lines: Array<{ level: string; text: string }> = []
  const layer = Logger.layer([
    Logger.make((options) => {
      lines.push({ level: options.logLevel, text: String(Logger.formatLogFmt.log(options)) })
    })
  ])
  return { lines, layer }
}

const waitUntil = (condition: () => boolean, what: string, timeoutMs = 20_000) =>
  Effect.gen(function* () {
    const deadline = performance.now() + timeoutMs
    while (!condition()) {
      if (performance.now() > deadline) return yield* Effect.die(`timed out waiting for ${what}`)
      yield* Effect.sleep("20 millis")
    }
  })

const traceHeaders = (seen: ReadonlyArray<Seen>) =>
  seen.flatMap((s) =>
    Object.keys(s.headers).filter((h) => h === "traceparent" || h === "b3" || h.startsWith("x-b3"))
  )

describe("Connection: headers sent", () => {
  it.live("no trace headers go to IMS or the stream by default; tracePropagation turns them on", () =>
    Effect.gen(function* () {
      for (const tracePropagation of [false, true]) {
        const { base, seen } = yield* server(imsAndEmptyStream)
        yield* Effect.gen(function* () {
          const connection = yield* Connection.Connection
          yield* Effect.scoped(connection.open(0))
        }).pipe(
          Effect.withSpan("caller"),
          Effect.provide(
            NodeLiveStream.layerParts(
              LiveStreamConfig.layer({
                url: `${base}/api/1/stream/x`,
                clientId: "client-1",
                clientSecret: Redacted.make("secret"),
                tokenUrl: `${base}/ims/token/v3`,
                tracePropagation
              })
            )
          )
        )
        assert.deepStrictEqual(
          seen.map((s) => s.method),
          ["POST", "GET"],
          "one token request to IMS, one stream request"
        )
        if (tracePropagation) {
          assert.isAbove(traceHeaders(seen).length, 0, "with tracePropagation the trace context travels")
        } else {
          assert.deepStrictEqual(traceHeaders(seen), [], "no trace headers to third parties")
        }
      }
    }).pipe(Effect.scoped)
  )
})

describe("Connection: a response Node cannot parse", () => {
  const hugeLocation = (_req: http.IncomingMessage, res: http.ServerResponse) => {
    res.writeHead(302, { location: `/api/1/stream/x?pad=${"a".repeat(100_000)}` })
    res.end()
  }

  it.live("a 100 KB Location is a protocol error naming its cause, logged once, waiting with growth", () =>
    Effect.gen(function* () {
      const { base, seen } = yield* server(hugeLocation)
      const logs = collectLogs()
      const layer = () =>
        NodeLiveStream.layerParts(
          LiveStreamConfig.layer({
            url: `${base}/api/1/stream/x`,
            clientId: "client-1",
            accessToken: "tok",
            minReconnectDelay: "100ms",
            maxReconnectDelay: "1s"
          })
        )
      const [first, second] = yield* Effect.gen(function* () {
        const connection = yield* Connection.Connection
        return [
          yield* Effect.flip(Effect.scoped(connection.open(0))),
          yield* Effect.flip(Effect.scoped(connection.open(0)))
        ] as const
      }).pipe(Effect.provide(layer()))
      const before = seen.length
      const slots = yield* Effect.gen(function* () {
        const live = yield* LiveStream.LiveStream
        const fiber = yield* Effect.forkChild(Stream.runDrain(live.hits))
        yield* waitUntil(() => seen.length >= before + 4, "four attempts of the stream")
        // Then the slot's state between attempts (it may be connecting at the moment of the 4th).
        let slots = yield* live.slots
        const deadline = performance.now() + 20_000
        while (slots[0].state._tag !== "Waiting" && performance.now() < deadline) {
          yield* Effect.sleep("10 millis")
          slots = yield* live.slots
        }
        yield* Fiber.interrupt(fiber)
        return slots
      }).pipe(Effect.provide(layer()), Effect.provide(logs.layer))
      const result = { first, second, slots }
      for (const error of [result.first, result.second]) {
        assert.strictEqual(error._tag, "ConnectionRefused")
        if (error._tag !== "ConnectionRefused") continue
        assert.strictEqual(error.end._tag, "NetworkError")
        assert.include(error.message, "protocol error")
        assert.include(error.message, "HPE_HEADER_OVERFLOW")
        assert.include(error.message, "larger than Node accepts")
      }
      if (result.first._tag === "ConnectionRefused" && result.second._tag === "ConnectionRefused") {
        assert.isFalse(result.first.repeat ?? false)
        assert.isTrue(result.second.repeat, "the same error on the next attempt is a repeat")
      }
      const warned = logs.lines.filter((l) => l.level === "Warn" && l.text.includes("HPE_HEADER_OVERFLOW"))
      assert.strictEqual(
        warned.length,
        1,
        `logged once: ${JSON.stringify(warned.map((l) => l.text.slice(0, 200)))}`
      )
      const state = result.slots[0].state
      assert.strictEqual(state._tag, "Waiting")
      if (state._tag === "Waiting")
        assert.isAtLeast(state.consecutiveFailures, 3, "each attempt counts as a failure")
    }).pipe(Effect.scoped)
  )

  it.live("an unparsable Location is a protocol error, not a defect", () =>
    Effect.gen(function* () {
      const { base } = yield* server((_req, res) => {
        res.writeHead(302, { location: "http://[bad" })
        res.end()
      })
      const exit = yield* Effect.exit(
        Effect.flatMap(Connection.Connection, (c) => Effect.scoped(c.open(0))).pipe(
          Effect.provide(
            NodeLiveStream.layerParts(
              LiveStreamConfig.layer({ url: `${base}/api/1/stream/x`, clientId: "c", accessToken: "tok" })
            )
          )
        )
      )
      assert.isTrue(Exit.isFailure(exit))
      assert.include(String(exit), "ConnectionRefused")
      assert.include(String(exit), "not a URL")
      assert.notInclude(String(exit), "Die")
    }).pipe(Effect.scoped)
  )
})

describe("URLs with credentials", () => {
  const password = "Zp4ssw0rd"
  const withUserinfo = (url: string) => url.replace("http://", `http://operator:${password}@`)

  it.live("the password never appears in logs, status, errors or state file names", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.Simulator
      // A redirect whose Location carries another password, to the simulator (a trusted host).
      const { base } = yield* server((req, res) => {
        res.writeHead(302, {
          location: withUserinfo(`${sim.streamUrl()}${req.url?.slice(req.url.indexOf("?")) ?? ""}`)
        })
        res.end()
      })
      const logs = collectLogs()
      const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "hitstream-redact-"))
      yield* Effect.addFinalizer(() =>
        Effect.sync(() => fs.rmSync(stateDir, { recursive: true, force: true }))
      )
      for (const url of [withUserinfo(sim.streamUrl()), withUserinfo(`${base}/api/1/stream/demo`)]) {
        const statuses: Array<string> = []
        yield* Effect.gen(function* () {
          const live = yield* LiveStream.LiveStream
          const hits = yield* live.hits.pipe(
            Stream.tap(() =>
              Effect.flatMap(live.slots, (slots) => Effect.sync(() => statuses.push(JSON.stringify(slots))))
            ),
            Stream.take(300),
            Stream.runCount
          )
          assert.strictEqual(hits, 300)
          statuses.push(JSON.stringify(yield* live.slots))
        }).pipe(
          Effect.provide(
            NodeLiveStream.layerWith(
              LiveStreamConfig.layer({
                url,
                clientId: sim.clientId,
                clientSecret: sim.clientSecret,
                tokenUrl: sim.tokenUrl(),
                minReconnectDelay: "400ms",
                maxReconnectDelay: "600ms"
              }),
              NodeLiveStream.fileJournal(stateDir, url)
            )
          ),
          Effect.provide(logs.layer)
        )
        assert.isAbove(statuses.length, 0)
        for (const status of statuses) assert.notInclude(status, password)
      }
      const streaming = logs.lines.filter((l) => l.text.includes("streaming from"))
      assert.isAtLeast(streaming.length, 2)
      assert.include(streaming[0].text, "http://***@127.0.0.1")
      for (const line of logs.lines) assert.notInclude(line.text, password)
      const files = fs.readdirSync(stateDir)
      assert.isAbove(files.length, 0)
      for (const file of files) {
        assert.notInclude(file, password)
        assert.notInclude(file, "operator")
        assert.match(file, /^127\.0\.0\.1_\d+_api_1_stream_demo\.slot-0\.json$/)
      }
    }).pipe(
      Effect.scoped,
      Effect.provide(
        Simulator.layer({
          rate: Number.POSITIVE_INFINITY,
          totalHits: 100_000,
          gracePeriod: 200,
          scenario: [{ status: 200, after: 100, fault: "drop" as const }]
        })
      )
    )
  )

  it.live("a redirect to an untrusted host with credentials is refused without showing them", () =>
    Effect.gen(function* () {
      const { base } = yield* server((_req, res) => {
        res.writeHead(302, { location: `https://operator:${password}@elsewhere.example/api/1/stream/demo` })
        res.end()
      })
      const error = yield* Effect.flip(
        Effect.flatMap(Connection.Connection, (c) => Effect.scoped(c.open(0))).pipe(
          Effect.provide(
            NodeLiveStream.layerParts(
              LiveStreamConfig.layer({
                url: withUserinfo(`${base}/api/1/stream/x`),
                clientId: "c",
                accessToken: "tok"
              })
            )
          )
        )
      )
      assert.strictEqual(error._tag, "RedirectRejected")
      assert.include(error.message, "elsewhere.example")
      assert.notInclude(JSON.stringify(error), password)
      assert.notInclude(String(error), password)
    }).pipe(Effect.scoped)
  )
})
