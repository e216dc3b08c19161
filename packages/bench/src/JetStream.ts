/**
 * The JetStream sink's throughput, R1 (one server) and R3 (a 3-node cluster on loopback),
 * against a bare loop of `js.publish` calls over the same hits with the same window of in-flight
 * acks: the client library's own limit. Both encode each record's text and set its `Nats-Msg-Id`;
 * each round publishes to a fresh stream. Needs `nats-server` (set NATS_SERVER to its path when
 * it is not /usr/sbin/nats-server); the row is skipped with a note when it is missing.
 *
 * @since 0.1.0
 */
import { Hit } from "@hitstream/core"
import { JetStreamSink, NatsClient } from "@hitstream/nats"
import { HitGenerator } from "@hitstream/simulator"
import type { JetStreamClient } from "@nats-io/jetstream"
import { Duration, Effect, Layer, Stream } from "effect"
import { type ChildProcess, spawn } from "node:child_process"
import { existsSync, mkdtempSync, rmSync } from "node:fs"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import type { Sizes } from "./Bench.ts"
import type { Row } from "./Stats.ts"

const natsServer = process.env.NATS_SERVER ?? "/usr/sbin/nats-server"
const window = 256

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as { port: number }).port
      server.close(() => resolve(port))
    })
  })

// `size` JetStream servers (routes between them when more than one), ready to serve.
const startServers = async (size: number, dir: string) => {
  const ports = await Promise.all(Array.from({ length: size }, freePort))
  const routes = await Promise.all(Array.from({ length: size }, freePort))
  const children: Array<ChildProcess> = []
  await Promise.all(
    ports.map(
      (port, i) =>
        new Promise<void>((resolve, reject) => {
          const args = [
            "-js",
            "-sd",
            join(dir, `n${i}`),
            "-a",
            "127.0.0.1",
            "-p",
            String(port),
            "-n",
            `n${i}`
          ]
          if (size > 1)
            args.push(
              "--cluster_name",
              "bench",
              "--cluster",
              `nats://127.0.0.1:${routes[i]}`,
              "--routes",
              routes
                .filter((_, j) => j !== i)
                .map((p) => `nats://127.0.0.1:${p}`)
                .join(",")
            )
          const child = spawn(natsServer, args, { stdio: ["ignore", "pipe", "pipe"] })
          children.push(child)
          let log = ""
          const onData = (d: Buffer) => {
            log += d
            if (log.includes("Server is ready")) resolve()
          }
          child.stdout!.on("data", onData)
          child.stderr!.on("data", onData)
          child.once("exit", (code) => reject(new Error(`nats-server exited (${code}): ${log}`)))
        })
    )
  )
  return {
    servers: `nats://${ports.map((p) => `127.0.0.1:${p}`).join(",")}`,
    stop: () => {
      for (const child of children) child.kill("SIGKILL")
    }
  }
}

const hitsOf = (count: number) =>
  Array.from(
    { length: count },
    (_, n) => Hit.parse(HitGenerator.generate(3, n, 1_700_000_000 + n).text) as Hit.Hit
  )

const encoder = new TextEncoder()

// The baseline: js.publish per hit, at most `window` awaiting their ack, resumed on each ack.
const bareLoop = async (js: JetStreamClient, hits: ReadonlyArray<Hit.Hit>, prefix: string) => {
  let inFlight = 0
  let failed: unknown
  let room: (() => void) | undefined
  let done: (() => void) | undefined
  const settle = () => {
    inFlight--
    const r = room
    room = undefined
    r?.()
    if (inFlight === 0) done?.()
  }
  for (const hit of hits) {
    if (inFlight >= window) await new Promise<void>((resolve) => (room = resolve))
    inFlight++
    js.publish(`${prefix}.${hit.reportSuite}`, encoder.encode(Hit.recordText(hit)), {
      msgID: `${hit.hitIdHigh}-${hit.hitIdLow}`
    }).then(settle, (e) => {
      failed = e
      settle()
    })
  }
  if (inFlight > 0) await new Promise<void>((resolve) => (done = resolve))
  if (failed !== undefined) throw failed
}

const measure = async (replicas: number, sizes: Sizes, log: (s: string) => void): Promise<Row> => {
  const count = Math.max(5_000, Math.floor(sizes.e2eHits / 2))
  const dir = mkdtempSync(join(tmpdir(), "hitstream-bench-nats-"))
  const cluster = await startServers(replicas, dir)
  try {
    const hits = hitsOf(count)
    const h: Array<number> = []
    const b: Array<number> = []
    const program = Effect.gen(function* () {
      const { manager, jetstream } = yield* NatsClient.NatsClient
      for (let r = 0; r < sizes.rounds; r++) {
        const ours = `OURS${r}`
        const bare = `BARE${r}`
        // Both streams exist before either is timed.
        const options: JetStreamSink.Options = {
          ...JetStreamSink.defaults,
          stream: ours,
          subjectPrefix: `ours${r}`,
          replicas,
          maxInFlight: window,
          duplicateWindow: Duration.minutes(10)
        }
        yield* JetStreamSink.ensureStream(manager, options)
        yield* JetStreamSink.ensureStream(manager, { ...options, stream: bare, subjectPrefix: `bare${r}` })
        const timeBare = Effect.promise(async () => {
          const start = performance.now()
          await bareLoop(jetstream, hits, `bare${r}`)
          b.push(count / ((performance.now() - start) / 1000))
        })
        const timeOurs = Effect.gen(function* () {
          const start = performance.now()
          const sink = yield* JetStreamSink.make(options)
          yield* Stream.fromIterable(hits).pipe(Stream.rechunk(1024), Stream.run(sink.sink))
          h.push(count / ((performance.now() - start) / 1000))
        }).pipe(Effect.scoped)
        // Alternate which goes first, so neither always gets the warmer server.
        if (r % 2 === 0) {
          yield* timeBare
          yield* timeOurs
        } else {
          yield* timeOurs
          yield* timeBare
        }
        log(
          `JetStream R${replicas} round ${r + 1}: sink ${h[r].toFixed(0)} hits/s, bare js.publish ${b[r].toFixed(0)} hits/s`
        )
      }
    })
    await Effect.runPromise(
      program.pipe(
        Effect.provide(
          Layer.unwrap(
            Effect.map(NatsClient.parseUrl("sink", cluster.servers), (url) =>
              NatsClient.layer({ url, credentials: { _tag: "None" } })
            )
          )
        )
      )
    )
    return {
      figure: `JetStream sink, R${replicas}`,
      unit: "hits/s",
      hitstream: h,
      baseline: b,
      better: "higher",
      target: ">= 0.8x",
      note: `${count} hits, ${window} acks in flight, Nats-Msg-Id per hit; baseline: bare js.publish loop; ${replicas === 1 ? "one server" : "3-node cluster"} on loopback`
    }
  } finally {
    cluster.stop()
    rmSync(dir, { recursive: true, force: true })
  }
}

/**
 * The R1 and R3 rows.
 *
 * @since 0.1.0
 */
export const jetstream = async (sizes: Sizes, log: (s: string) => void): Promise<Array<Row>> => {
  if (!existsSync(natsServer)) {
    log(
      `JetStream: skipped, no nats-server at ${natsServer} (apt-get install nats-server, or set NATS_SERVER)`
    )
    return []
  }
  return [await measure(1, sizes, log), await measure(3, sizes, log)]
}
