import { assert, describe, it } from "@effect/vitest"
import { Hit } from "@hitstream/core"
import { HitGenerator } from "@hitstream/simulator"
import { Cause, Duration, Effect, Exit, Fiber, Layer, type Scope, Stream } from "effect"
import { JetStreamSink, NatsClient } from "../src/index.ts"
import * as NatsServer from "./NatsServer.ts"

const hitsOf = (from: number, to: number) =>
  Array.from({ length: to - from }, (_, i) => {
    const hit = Hit.parse(HitGenerator.generate(7, from + i, 1_700_000_000 + i).text)
    if (Hit.isMalformed(hit)) throw new Error(hit.message)
    return hit
  })

const clientLayer = (servers: string) =>
  Layer.unwrap(
    Effect.map(NatsClient.parseUrl("sink", servers), (url) =>
      NatsClient.layer({ url, credentials: { _tag: "None" } })
    )
  )

const options = (stream: string): JetStreamSink.Options => ({
  ...JetStreamSink.defaults,
  stream,
  ackTimeout: Duration.seconds(1),
  maxInFlight: 64
})

/** Runs `use` against one server whose JetStream already holds the stream `config`: its exit. */
const onExistingStream = <A, E>(
  config: Parameters<NatsClient.NatsClient["Service"]["manager"]["streams"]["add"]>[0],
  use: Effect.Effect<A, E, NatsClient.NatsClient | Scope.Scope>
) =>
  Effect.gen(function* () {
    const node = yield* NatsServer.single
    return yield* Effect.gen(function* () {
      const { manager } = yield* NatsClient.NatsClient
      yield* Effect.promise(() => manager.streams.add(config))
      return yield* Effect.exit(use)
    }).pipe(Effect.scoped, Effect.provide(clientLayer(NatsServer.serversUrl([node]))))
  })

/** The message of the error an exit failed with, or "" when it succeeded. */
const failureOf = (exit: Exit.Exit<unknown, unknown>): string => {
  assert.isTrue(Exit.isFailure(exit), "it fails")
  return String(Exit.isFailure(exit) ? (Cause.squash(exit.cause) as { message?: string })?.message : "")
}

// Every message of the stream, in order: subject, Nats-Msg-Id and payload text.
const readAll = (stream: string) =>
  Effect.gen(function* () {
    const { manager } = yield* NatsClient.NatsClient
    const info = yield* Effect.promise(() => manager.streams.info(stream))
    const out: Array<{ subject: string; id: string | undefined; text: string }> = []
    for (let seq = info.state.first_seq; seq <= info.state.last_seq; seq++) {
      const m = yield* Effect.promise(() => manager.streams.getMessage(stream, { seq }))
      if (m !== null) out.push({ subject: m.subject, id: m.header.get("Nats-Msg-Id"), text: m.string() })
    }
    return out
  })

describe("JetStreamSink", () => {
  it("names subjects by report suite and ids by hitIdHigh-hitIdLow", () => {
    const [hit] = hitsOf(0, 1)
    assert.match(JetStreamSink.subjectOf("hits", hit), /^hits\.[A-Za-z0-9_-]+$/)
    assert.strictEqual(JetStreamSink.subjectOf("a.b", { reportSuite: "my.suite x" }), "a.b.my_suite_x")
    assert.strictEqual(JetStreamSink.subjectOf("hits", {}), "hits._unknown")
    assert.strictEqual(JetStreamSink.messageIdOf(hit), `${hit.hitIdHigh}-${hit.hitIdLow}`)
    assert.strictEqual(JetStreamSink.messageIdOf({ hitIdHigh: "1" }), undefined)
  })

  it("explains an incompatible existing stream: subjects, replicas, duplicate window", () => {
    const problem = JetStreamSink.incompatibility(
      { subjects: ["other.>"], num_replicas: 1, duplicate_window: 120 * 1e9 },
      { stream: "HITS", subjectPrefix: "hits", replicas: 3, duplicateWindow: Duration.minutes(10) }
    )
    assert.include(problem, "do not take hits.>")
    assert.include(problem, "1 replica(s), not the 3 asked for")
    assert.include(problem, "duplicate window is 120 s, shorter than the 600 s")
    assert.isUndefined(
      JetStreamSink.incompatibility(
        { subjects: ["hits.>"], num_replicas: 3, duplicate_window: 600 * 1e9 },
        { stream: "HITS", subjectPrefix: "hits", replicas: undefined, duplicateWindow: Duration.minutes(10) }
      )
    )
  })

  it.live(
    "stores every hit once, byte for byte, through repeats and a broker killed and restarted mid-run",
    () =>
      Effect.gen(function* () {
        const node = yield* NatsServer.single
        const result = yield* Effect.gen(function* () {
          const sink = yield* JetStreamSink.make(options("HITS"))
          const hits = hitsOf(0, 3000)
          // Every hit once, then the last 200 of each 500 again: the backfill a reconnect sends.
          const chunks: Array<ReadonlyArray<Hit.Hit>> = []
          for (let i = 0; i < hits.length; i += 500) {
            chunks.push(hits.slice(i, i + 500))
            chunks.push(hits.slice(Math.max(0, i + 300), i + 500))
          }
          const killer = yield* Effect.forkChild(
            Effect.gen(function* () {
              while (sink.written() < 1000) yield* Effect.sleep(5)
              yield* node.restart
            })
          )
          yield* Stream.fromIterable(chunks).pipe(
            Stream.flattenIterable,
            Stream.rechunk(100),
            Stream.run(sink.sink)
          )
          yield* Fiber.join(killer)
          assert.strictEqual(sink.inFlight(), 0)
          assert.strictEqual(sink.written(), 3000 + 6 * 200)
          return { hits, stored: yield* readAll("HITS") }
        }).pipe(Effect.provide(clientLayer(NatsServer.serversUrl([node]))))
        assert.strictEqual(result.stored.length, 3000)
        const byId = new Map(result.stored.map((m) => [m.id, m]))
        assert.strictEqual(byId.size, 3000)
        for (const hit of result.hits) {
          const m = byId.get(`${hit.hitIdHigh}-${hit.hitIdLow}`)
          assert.isDefined(m)
          assert.strictEqual(m!.text, Hit.recordText(hit))
          assert.strictEqual(m!.subject, JetStreamSink.subjectOf("hits", hit))
        }
      }).pipe(Effect.scoped),
    60_000
  )

  it.live(
    "fails with the server's reason, not endless retries, when a hit can never be stored",
    () =>
      Effect.gen(function* () {
        const exit = yield* onExistingStream(
          { name: "SMALL", subjects: ["hits.>"], duplicate_window: 600 * 1e9, max_msg_size: 64 },
          Effect.gen(function* () {
            const sink = yield* JetStreamSink.make(options("SMALL"))
            return yield* Stream.fromIterable(hitsOf(0, 10)).pipe(Stream.run(sink.sink))
          })
        )
        const message = failureOf(exit)
        assert.include(message, "JetStream refused a hit")
        assert.include(message, "max_msg_size")
      }).pipe(Effect.scoped),
    30_000
  )

  it.live(
    "refuses an existing stream with a short duplicate window, saying how to fix it",
    () =>
      Effect.gen(function* () {
        const exit = yield* onExistingStream(
          { name: "SHORT", subjects: ["hits.>"], duplicate_window: 60 * 1e9 },
          JetStreamSink.make(options("SHORT"))
        )
        const message = failureOf(exit)
        assert.include(message, "duplicate window is 60 s")
        assert.include(message, "--dupe-window 600s")
      }).pipe(Effect.scoped),
    30_000
  )
})
