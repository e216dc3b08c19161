// The fleet, for real: a 3-node NATS cluster with an R3 stream, the simulator with
// maxConnections 4, and 3 `hitstream run --fleet … --sink …` processes sharing its 4 slots,
// through a SIGKILL of one process, a SIGKILL and restart of one NATS node, and a rolling restart
// of all three processes (each replacement started before the old one stops).
//
// The minimum reconnect delay is SHORTENED FOR THE TEST to 4 s (Adobe's rule is 60 s), and the
// lease TTL to 3 s (default 15 s), so that the faults play out in about a minute.
import { assert, describe, it } from "@effect/vitest"
import { Simulator } from "@hitstream/simulator"
import { Context, Effect, Layer } from "effect"
import { type ChildProcess, spawn } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { NatsClient } from "../src/index.ts"
import * as NatsServer from "./NatsServer.ts"

const bin = fileURLToPath(new URL("../../cli/src/bin.ts", import.meta.url))
const minReconnectDelay = 4_000 // SHORTENED FOR THE TEST (Adobe's rule: 60 s)
// How long a close may take to reach the server on a loaded machine: the simulator's load
// balancer forgets a dropped connection this much sooner than the client's minimum.
const closeSlack = 1_000
const maxConnections = 4
const totalHits = 2_000
const rate = 40

interface Hitstream {
  readonly name: string
  readonly child: ChildProcess
  readonly log: () => string
  readonly exited: Promise<number | null>
}

const poll = (
  what: string,
  predicate: () => boolean | Promise<boolean>,
  within: number,
  detail: () => string = () => ""
) =>
  Effect.promise(async () => {
    const deadline = performance.now() + within
    while (!(await predicate())) {
      if (performance.now() > deadline) throw new Error(`not in time (${within} ms): ${what}\n${detail()}`)
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  })

describe("fleet mode", () => {
  it.live(
    "3 processes share 4 slots through a process crash, a NATS node crash and a rolling restart: every hit stored once, never > 4 connections, no 409, no quick reconnect",
    () =>
      Effect.gen(function* () {
        const nodes = yield* NatsServer.cluster(3)
        const servers = NatsServer.serversUrl(nodes)
        const sim = yield* Simulator.Simulator
        const stateDir = yield* Effect.acquireRelease(
          Effect.sync(() => mkdtempSync(join(tmpdir(), "hitstream-fleet-"))),
          (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
        )

        // The cluster elects its JetStream leader: the R3 stream is created once it can be.
        const client = yield* Layer.build(
          NatsClient.layer({
            url: yield* NatsClient.parseUrl("sink", servers),
            credentials: { _tag: "None" }
          })
        ).pipe(Effect.map(Context.get(NatsClient.NatsClient)))
        yield* poll(
          "the R3 stream is created",
          () =>
            client.manager.streams
              .add({ name: "HITS", subjects: ["hits.>"], num_replicas: 3, duplicate_window: 600 * 1e9 })
              .then(
                () => true,
                () => false
              ),
          30_000
        )

        const all: Array<Hitstream> = []
        let counter = 0
        const startHitstream = () => {
          const name = `p${++counter}`
          const child = spawn(
            process.execPath,
            [
              "--conditions=@hitstream/source",
              bin,
              "run",
              "--max-connections",
              String(maxConnections),
              "--min-reconnect-delay",
              `${minReconnectDelay / 1000}s`,
              "--fleet",
              `${servers}/fleet?replicas=3&ttl=3s`,
              "--sink",
              `${servers}/HITS?replicas=3`,
              "--log-format",
              "json",
              "--state-dir",
              join(stateDir, name)
            ],
            {
              env: {
                PATH: process.env.PATH ?? "",
                HOME: process.env.HOME ?? "/tmp",
                HITSTREAM_URL: sim.streamUrl(),
                HITSTREAM_TOKEN_URL: sim.tokenUrl(),
                HITSTREAM_CLIENT_ID: sim.clientId,
                HITSTREAM_CLIENT_SECRET: sim.clientSecret
              },
              stdio: ["ignore", "pipe", "pipe"]
            }
          )
          let log = ""
          child.stdout!.setEncoding("utf8")
          child.stderr!.setEncoding("utf8")
          child.stdout!.on("data", (d: string) => (log += d))
          child.stderr!.on("data", (d: string) => (log += d))
          const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)))
          const h = { name, child, log: () => log, exited }
          all.push(h)
          return h
        }
        yield* Effect.addFinalizer(() =>
          Effect.sync(() => {
            for (const h of all)
              if (h.child.exitCode === null && h.child.signalCode === null) h.child.kill("SIGKILL")
          })
        )
        const registered = (h: Hitstream) => h.log().includes("fleet: this process")
        // Whether the process's latest status line says it holds a slot.
        const holdsSlots = (h: Hitstream) => {
          const lines = h.log().match(/holds slot\(s\) [^ ]+/g)
          return lines !== null && !lines[lines.length - 1].endsWith("none")
        }
        const openConnections = async () =>
          (await Effect.runPromise(sim.log)).filter((a) => a.status === 200 && a.endedAt === undefined).length
        const stop = (h: Hitstream) =>
          Effect.gen(function* () {
            h.child.kill("SIGTERM")
            const code = yield* Effect.promise(() => h.exited)
            assert.strictEqual(code, 0, `${h.name} exit code\n${h.log().slice(-3000)}`)
          })

        const t0 = performance.now()
        const phase = (what: string) =>
          Effect.sync(() =>
            console.log(`fleet test +${((performance.now() - t0) / 1000).toFixed(1)} s: ${what}`)
          )
        let live = [startHitstream(), startHitstream(), startHitstream()]
        const tails = () =>
          live.map((h) => `--- ${h.name}\n${h.log().split("\n").slice(-12).join("\n")}`).join("\n")
        yield* poll(
          "4 connections open",
          async () => (await openConnections()) === maxConnections,
          60_000,
          tails
        )

        // 1. SIGKILL of a process that holds slots; its replacement starts as a supervisor would.
        yield* poll("a process reports its slots", () => live.some(holdsSlots), 20_000, tails)
        const victim = live.find(holdsSlots)!
        yield* phase(`4 connections open; SIGKILL of ${victim.name}, which holds slots`)
        victim.child.kill("SIGKILL")
        yield* Effect.promise(() => victim.exited)
        live = [...live.filter((h) => h !== victim), startHitstream()]
        yield* Effect.sleep(2_000)
        yield* poll(
          "4 connections open after the crash",
          async () => (await openConnections()) === maxConnections,
          45_000,
          tails
        )

        // 2. SIGKILL of the stream's leader node, restarted a few seconds later.
        const leader = (yield* Effect.promise(() => client.manager.streams.info("HITS"))).cluster?.leader
        const node = nodes.find((n) => n.name === leader) ?? nodes[1]
        yield* phase(`4 connections open again; SIGKILL of NATS node ${node.name} (the stream's leader)`)
        yield* node.kill
        yield* Effect.sleep(4_000)
        yield* node.restart
        yield* poll(
          "4 connections open after the node restart",
          async () => (await openConnections()) === maxConnections,
          45_000,
          tails
        )

        yield* phase("4 connections open after the node restart; rolling restart")
        // 3. Rolling restart: each replacement is up before the old process stops.
        for (let i = 0; i < 3; i++) {
          const fresh = startHitstream()
          yield* poll(
            `${fresh.name} joined the fleet`,
            () => registered(fresh),
            45_000,
            () => fresh.log().slice(-4000)
          )
          yield* stop(live[i])
          live[i] = fresh
        }

        yield* phase("rolling restart done")
        // Everything the simulator generates is sent and stored.
        yield* poll(
          "every hit sent and stored",
          async () => {
            const sent = await Effect.runPromise(sim.sent)
            const info = await client.manager.streams.info("HITS")
            return sent.length >= totalHits && info.state.messages >= sent.length
          },
          60_000,
          tails
        )
        yield* Effect.forEach(live, stop, { concurrency: "unbounded", discard: true })

        yield* phase("all stored; processes stopped")
        // JetStream holds every ground-truth hit exactly once.
        const sent = yield* sim.sent
        const info = yield* Effect.promise(() => client.manager.streams.info("HITS"))
        const ids = new Map<string, number>()
        yield* Effect.forEach(
          Array.from(
            { length: info.state.last_seq - info.state.first_seq + 1 },
            (_, i) => info.state.first_seq + i
          ),
          (seq) =>
            Effect.promise(() => client.manager.streams.getMessage("HITS", { seq })).pipe(
              Effect.map((m) => {
                const id = m?.header.get("Nats-Msg-Id") ?? "?"
                ids.set(id, (ids.get(id) ?? 0) + 1)
              })
            ),
          { concurrency: 32, discard: true }
        )
        const missing = sent.filter((s) => ids.get(`${s.hitIdHigh}-${s.hitIdLow}`) !== 1)
        assert.strictEqual(missing.length, 0, `hits not stored exactly once: ${missing.length}`)
        assert.strictEqual(info.state.messages, sent.length)

        // The simulator's log: no 409, never more than 4 connections, and no reconnect sooner
        // than the minimum after a loss on the same slot. The simulator does not know slots; on
        // any slot a loss blocks its slot for the minimum, so at every connect, the connections
        // open plus those that ended less than the minimum ago must be at most 4 (`closeSlack`
        // for the close to reach the server).
        const log = yield* sim.settledLog
        const accepted = log.filter((a) => a.status === 200)
        const start = log[0]?.at ?? 0
        const timeline = log
          .map(
            (a) =>
              `#${a.attempt} ${a.status} at +${a.at - start} ms, ended ${a.endedAt === undefined ? "-" : `+${a.endedAt - start} ms`} ${a.end ?? ""} ${a.status === 200 ? "" : (a.description ?? "")}`
          )
          .join("\n")
        assert.deepStrictEqual(
          log.filter((a) => a.status === 409).map((a) => a.description),
          [],
          `409s in the simulator's log:\n${timeline}`
        )
        let peak = 0
        for (const a of accepted) {
          const concurrent = accepted.filter(
            (b) => b.at <= a.at && (b.endedAt === undefined || b.endedAt > a.at)
          ).length
          peak = Math.max(peak, concurrent)
          const blocked = accepted.filter(
            (b) =>
              b !== a &&
              b.at <= a.at &&
              (b.endedAt === undefined || b.endedAt > a.at - (minReconnectDelay - closeSlack))
          ).length
          assert.isAtMost(
            blocked,
            maxConnections - 1,
            `connection #${a.attempt}: a slot reconnected too soon\n${timeline}`
          )
        }
        assert.strictEqual(peak, maxConnections)
        assert.isAbove(accepted.length, maxConnections, "the faults moved slots")
        console.log(
          `fleet: ${sent.length} hits sent, ${info.state.messages} stored, ${accepted.length} connections over ${all.length} processes, peak ${peak} open, ${log.length - accepted.length} refused`
        )
      }).pipe(
        Effect.scoped,
        Effect.provide(
          Simulator.layer({
            rate,
            totalHits,
            // The load balancer's memory of a dropped connection: just under the shortened minimum.
            gracePeriod: minReconnectDelay - closeSlack,
            backfillDuplicates: 400,
            seed: 13
          })
        )
      ),
    240_000
  )
})
