// The forwarder between the real simulator and a real receiving endpoint, both on loopback: the
// receiver gets every hit exactly once, in batches, through refusals and a dropped connection
// (retried on the TestClock's backoff), and a receiver that stops answering holds the stream back.
import { NodeHttpClient, NodeHttpServer, NodeHttpServerRequest } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { LiveStream, NodeLiveStream } from "@hitstream/client"
import { HitGenerator, Simulator } from "@hitstream/simulator"
import { Clock, Deferred, Effect, Fiber, Layer, Redacted } from "effect"
import { HttpRouter, HttpServer, HttpServerRequest, HttpServerResponse } from "effect/http"
import { TestClock } from "effect/testing"
import { spawn } from "node:child_process"
import { createServer } from "node:http"
import { fileURLToPath } from "node:url"
import { forward } from "../src/Forwarder.ts"

const main = fileURLToPath(new URL("../src/main.ts", import.meta.url))

interface Received {
  readonly at: number
  readonly ids: ReadonlyArray<string>
  /** 0: still waiting for an answer, or the connection was dropped. */
  status: number
}

/** What the receiver does with its n-th request (from 1): a status, or drop the connection. */
type Answer = (n: number) => Effect.Effect<{ status: number; retryAfter?: string } | "drop">

/** A receiving endpoint on a free loopback port that records every request, at the Clock's time. */
const receiver = (answer: Answer) => {
  const requests: Array<Received> = []
  const layer = HttpRouter.serve(
    HttpRouter.add(
      "POST",
      "/hits",
      Effect.gen(function* () {
        const request = yield* HttpServerRequest.HttpServerRequest
        const hits = (yield* request.json) as Array<{ hitIdHigh: string; hitIdLow: string }>
        const received: Received = {
          at: yield* Clock.currentTimeMillis,
          ids: hits.map((h) => `${h.hitIdHigh}:${h.hitIdLow}`),
          status: 0
        }
        requests.push(received)
        const reply = yield* answer(requests.length)
        if (reply === "drop") {
          NodeHttpServerRequest.toServerResponse(request).destroy()
          return HttpServerResponse.empty({ status: 500 })
        }
        received.status = reply.status
        const headers: Record<string, string> = reply.retryAfter ? { "retry-after": reply.retryAfter } : {}
        return HttpServerResponse.empty({ status: reply.status, headers })
      })
    ),
    { disableLogger: true, disableListenLog: true }
  ).pipe(Layer.provideMerge(NodeHttpServer.layer(createServer, { port: 0, host: "127.0.0.1" })))
  const accepted = () => requests.filter((r) => r.status === 204)
  return { requests, accepted, hits: () => accepted().flatMap((r) => r.ids), layer }
}

const simulator = (options: Partial<Simulator.Options>) =>
  Simulator.layer({ rate: Number.POSITIVE_INFINITY, ...options })

/** The forwarder's client, against the simulator. */
const client = Layer.unwrap(
  Effect.gen(function* () {
    const sim = yield* Simulator.Simulator
    return NodeLiveStream.layer({
      url: sim.streamUrl(),
      tokenUrl: sim.tokenUrl(),
      clientId: sim.clientId,
      clientSecret: sim.clientSecret,
      bufferSize: 1000
    })
  })
)

const receiverUrl = Effect.gen(function* () {
  const server = yield* HttpServer.HttpServer
  return Redacted.make(`${HttpServer.formatAddress(server.address)}/hits`)
})

/** Runs `body` with the simulator, the receiver and the client; `url` is the receiver's. */
const withApp = <A, E, R>(
  simOptions: Partial<Simulator.Options>,
  recv: ReturnType<typeof receiver>,
  body: (url: Redacted.Redacted<string>) => Effect.Effect<A, E, R>
) =>
  Effect.flatMap(receiverUrl, body).pipe(
    Effect.provide(
      Layer.mergeAll(
        client.pipe(Layer.provideMerge(simulator(simOptions))),
        recv.layer,
        NodeHttpClient.layerUndici
      )
    )
  )

const expectedIds = (seed: number, from: number, to: number) =>
  Array.from({ length: to - from }, (_, i) => {
    const ids = HitGenerator.idsOf(seed, from + i)
    return `${ids.hitIdHigh}:${ids.hitIdLow}`
  })

/** Advances the TestClock in 100 ms steps, letting real I/O happen between, until `done`. */
const drive = (done: () => boolean, what: string) =>
  Effect.gen(function* () {
    for (let i = 0; i < 2000 && !done(); i++) {
      yield* TestClock.adjust("100 millis")
      yield* TestClock.withLive(Effect.sleep("5 millis"))
    }
    if (!done()) return yield* Effect.die(new Error(`timed out waiting for ${what}`))
  })

/** Polls `done`, by default for at most 15 s. */
const poll = (done: () => boolean, what: string, seconds = 15) =>
  Effect.gen(function* () {
    for (let i = 0; i < seconds * 100 && !done(); i++) yield* Effect.sleep("10 millis")
    if (!done()) return yield* Effect.die(new Error(`timed out waiting for ${what}`))
  })

/** Polls in real time while the TestClock stands still. */
const until = (done: () => boolean, what: string) => TestClock.withLive(poll(done, what))

describe("webhook-forwarder", () => {
  it.effect(
    "every hit exactly once, in order, in full batches, through refusals and a dropped connection",
    () => {
      const scripted: Record<number, { status: number; retryAfter?: string } | "drop"> = {
        2: { status: 503 },
        3: { status: 503 },
        4: { status: 500 },
        6: { status: 429, retryAfter: "5" },
        8: "drop"
      }
      const recv = receiver((n) => Effect.succeed(scripted[n] ?? { status: 204 }))
      return withApp({ totalHits: 1000 }, recv, (url) =>
        Effect.gen(function* () {
          const sim = yield* Simulator.Simulator
          const app = yield* Effect.forkChild(forward({ url, batchSize: 100, flushAfter: "1 hour" }))
          // Connected before the clock moves (its connect timeout is on the TestClock too).
          yield* until(() => recv.requests.length >= 1, "the first POST")
          yield* drive(() => recv.hits().length >= 1000, "1000 hits at the receiver")
          yield* Fiber.interrupt(app)

          assert.deepStrictEqual(
            recv.hits(),
            expectedIds(sim.options.seed, 0, 1000),
            "each hit once, in order"
          )
          assert.deepStrictEqual(
            recv.accepted().map((r) => r.ids.length),
            Array.from({ length: 10 }, () => 100)
          )
          const r = recv.requests
          assert.deepStrictEqual(
            r.map((x) => x.status),
            [204, 503, 503, 500, 204, 429, 204, 0, 204, 204, 204, 204, 204, 204, 204]
          )
          // A refused batch is sent again as it was, after the backoff (250 ms doubling, ±20%).
          for (const i of [1, 2, 3, 5, 7]) assert.deepStrictEqual(r[i + 1].ids, r[i].ids)
          assert.isAtLeast(r[2].at - r[1].at, 200)
          assert.isAtLeast(r[3].at - r[2].at, 400)
          assert.isAtLeast(r[4].at - r[3].at, 800)
          assert.isAbove(r[4].at - r[3].at, r[2].at - r[1].at, "the delay grows")
          assert.isAtLeast(r[6].at - r[5].at, 5000, "Retry-After: 5 is honoured")
        })
      )
    },
    30_000
  )

  it.effect(
    "a partial batch waits flushAfter for more hits, then goes",
    () => {
      const recv = receiver(() => Effect.succeed({ status: 204 }))
      return withApp({ totalHits: 250 }, recv, (url) =>
        Effect.gen(function* () {
          const app = yield* Effect.forkChild(forward({ url, batchSize: 100, flushAfter: "1 second" }))
          yield* until(() => recv.accepted().length === 2, "two full batches")
          yield* TestClock.withLive(Effect.sleep("200 millis"))
          assert.strictEqual(recv.requests.length, 2, "the last 50 hits wait for more")
          yield* TestClock.adjust("1 second")
          yield* until(() => recv.accepted().length === 3, "the partial batch")
          assert.deepStrictEqual(
            recv.accepted().map((r) => r.ids.length),
            [100, 100, 50]
          )
          yield* Fiber.interrupt(app)
        })
      )
    },
    30_000
  )

  it.live(
    "a receiver that stops answering holds the stream back (it pauses, it does not buffer), then resumes with nothing lost",
    () =>
      Effect.gen(function* () {
        const gate = yield* Deferred.make<void>()
        const recv = receiver((n) => Effect.as(n === 1 ? Deferred.await(gate) : Effect.void, { status: 204 }))
        const totalHits = 1_000_000
        return yield* withApp({ totalHits }, recv, (url) =>
          Effect.gen(function* () {
            const sim = yield* Simulator.Simulator
            const live = yield* LiveStream.LiveStream
            const sent = Effect.map(sim.log, (log) => log[0]?.hitsSent ?? 0)
            const app = yield* Effect.forkChild(forward({ url, batchSize: 500, flushAfter: "1 hour" }))
            yield* poll(() => recv.requests.length === 1, "the first POST")
            // The receiver holds its first request. The simulator's sent count stops growing: what it
            // sent sits in the sockets' buffers (kernel-sized), while the process holds only what
            // the client's buffer and the forwarder's two batches (in flight, forming) can take.
            const samples: Array<number> = []
            for (let i = 0; i < 50; i++) {
              samples.push(yield* sent)
              const last = samples.slice(-4)
              if (last.length === 4 && last[0] > 0 && last.every((n) => n === last[0])) break
              yield* Effect.sleep("300 millis")
            }
            const held = samples.at(-1)!
            assert.deepStrictEqual(samples.slice(-4), [held, held, held, held], `still sending: ${samples}`)
            assert.isBelow(held, totalHits)
            const inProcess = (yield* live.counters).hits
            assert.isAtMost(inProcess, 500 + 500 + 1000 + 1000, `the client delivered ${inProcess} hits`)
            assert.strictEqual(recv.requests.length, 1, "one batch in flight, no more")

            yield* Deferred.succeed(gate, undefined)
            yield* poll(() => recv.accepted().length >= 4, "forwarding to resume")
            yield* Fiber.interrupt(app)
            const hits = recv.hits()
            assert.deepStrictEqual(
              hits,
              expectedIds(sim.options.seed, 0, hits.length),
              "nothing lost, nothing twice"
            )
          })
        )
      }),
    60_000
  )

  it.effect(
    "a batch refused for good (400) stops the forwarder with an error that names the status, not the URL",
    () => {
      const recv = receiver(() => Effect.succeed({ status: 400 }))
      return withApp({ totalHits: 100 }, recv, (url) =>
        Effect.gen(function* () {
          const error = yield* Effect.flip(forward({ url, batchSize: 100, flushAfter: "1 hour" }))
          if (error._tag !== "WebhookRejected")
            return assert.fail(`expected WebhookRejected, got ${error._tag}`)
          assert.strictEqual(error.status, 400)
          assert.strictEqual(error.hits, 100)
          assert.include(error.message, "status 400")
          assert.notInclude(error.message, Redacted.value(url))
          assert.strictEqual(recv.requests.length, 1, "not retried")
        })
      )
    },
    30_000
  )

  it.live(
    "main.ts, configured by HITSTREAM_* variables, forwards every hit",
    () => {
      const recv = receiver(() => Effect.succeed({ status: 204 }))
      // No client in this process: main.ts is the stream's only client.
      return Effect.gen(function* () {
        const url = yield* receiverUrl
        const sim = yield* Simulator.Simulator
        const child = spawn(process.execPath, ["--conditions=@hitstream/source", main], {
          env: {
            PATH: process.env.PATH ?? "",
            HITSTREAM_URL: sim.streamUrl(),
            HITSTREAM_TOKEN_URL: sim.tokenUrl(),
            HITSTREAM_CLIENT_ID: sim.clientId,
            HITSTREAM_CLIENT_SECRET: sim.clientSecret,
            HITSTREAM_EXAMPLE_WEBHOOK_URL: Redacted.value(url),
            HITSTREAM_EXAMPLE_BATCH_SIZE: "100"
          },
          stdio: ["ignore", "pipe", "pipe"]
        })
        let output = ""
        child.stdout.on("data", (d) => (output += d))
        child.stderr.on("data", (d) => (output += d))
        yield* Effect.addFinalizer(() => Effect.sync(() => child.kill("SIGKILL")))
        yield* poll(() => recv.hits().length >= 300, "300 hits from main.ts", 40).pipe(
          Effect.tapDefect(() => Effect.sync(() => console.error(output)))
        )
        assert.deepStrictEqual(recv.hits(), expectedIds(sim.options.seed, 0, 300))
        assert.deepStrictEqual(
          recv.accepted().map((r) => r.ids.length),
          [100, 100, 100]
        )
        assert.notInclude(output, sim.clientSecret)
      }).pipe(
        // The child goes before the receiver, which would otherwise wait for its open connection.
        Effect.scoped,
        Effect.provide(Layer.merge(recv.layer, simulator({ totalHits: 300 })))
      )
    },
    60_000
  )
})
