import { assert, describe, it } from "@effect/vitest"
import * as ConnectionJournal from "@hitstream/client/ConnectionJournal"
import * as SlotLease from "@hitstream/client/SlotLease"
import { Duration, Effect, Exit, Layer, Scope } from "effect"
import { FleetBucket, FleetJournal, NatsClient, SlotLeases } from "../src/index.ts"
import * as NatsServer from "./NatsServer.ts"

interface Interval {
  readonly process: string
  readonly slot: number
  readonly from: number
  to: number | undefined
}

const maxConnections = 4

// One process of the fleet: its own NATS connection, the leases, and for each slot a "connection"
// that records when it is open.
const process = (servers: string, id: string, log: Array<Interval>) =>
  Effect.gen(function* () {
    const scope = yield* Scope.make()
    const url = yield* NatsClient.parseUrl("fleet", servers)
    const context = yield* Layer.build(NatsClient.layer({ url, credentials: { _tag: "None" } })).pipe(
      Scope.provide(scope)
    )
    const run = Effect.gen(function* () {
      const buckets = yield* FleetBucket.open({ bucket: "fleet", replicas: 1, ttl: Duration.seconds(2) })
      const journal = FleetJournal.make(buckets.journal, "test")
      const made = yield* SlotLeases.make({
        kv: buckets.leases,
        ttl: buckets.ttl,
        prefix: "test",
        maxConnections,
        processId: id
      }).pipe(
        Effect.provideService(
          ConnectionJournal.ConnectionJournal,
          ConnectionJournal.ConnectionJournal.of(journal)
        )
      )
      for (let slot = 0; slot < maxConnections; slot++) {
        const open = Effect.acquireRelease(
          Effect.sync(() => {
            const interval: Interval = { process: id, slot, from: performance.now(), to: undefined }
            log.push(interval)
            return interval
          }),
          (interval) => Effect.sync(() => void (interval.to = performance.now()))
        ).pipe(Effect.andThen(Effect.never), Effect.scoped)
        yield* Effect.forkScoped(made.lease.hold(slot, open))
      }
      return made
    }).pipe(Effect.provide(context), Scope.provide(scope))
    const made = yield* run
    return { made, scope, client: context }
  })

const overlaps = (log: ReadonlyArray<Interval>) => {
  const found: Array<string> = []
  for (const a of log)
    for (const b of log)
      if (a !== b && a.slot === b.slot && a.process !== b.process) {
        const aEnd = a.to ?? Number.POSITIVE_INFINITY
        const bEnd = b.to ?? Number.POSITIVE_INFINITY
        if (a.from < bEnd && b.from < aEnd) found.push(`slot ${a.slot}: ${a.process} and ${b.process}`)
      }
  return found
}

const openNow = (log: ReadonlyArray<Interval>) => log.filter((i) => i.to === undefined)

const waitFor = (what: string, predicate: () => boolean, within = 15_000) =>
  Effect.gen(function* () {
    const deadline = performance.now() + within
    while (!predicate()) {
      if (performance.now() > deadline) return yield* Effect.die(new Error(`not in time: ${what}`))
      yield* Effect.sleep(50)
    }
  })

describe("SlotLeases against a real server", () => {
  it.live(
    "shares 4 slots among 3 processes (at most 2 each), hands slots over on release and on a partition, never two holders at once",
    () =>
      Effect.gen(function* () {
        const node = yield* NatsServer.single
        const servers = NatsServer.serversUrl([node])
        const log: Array<Interval> = []
        const [a, b, c] = yield* Effect.all(
          ["A", "B", "C"].map((id) => process(servers, id, log)),
          { concurrency: "unbounded" }
        )
        yield* waitFor("every slot open", () => openNow(log).length === maxConnections)
        const perProcess = (p: string) => openNow(log).filter((i) => i.process === p).length
        for (const p of ["A", "B", "C"]) assert.isAtMost(perProcess(p), 2, `process ${p}`)
        const ownership = yield* a.made.ownership
        assert.strictEqual(ownership.members, 3)
        assert.strictEqual(ownership.quota, 2)

        // A graceful stop: its slots go to the others at once (the key is deleted).
        const fromA = perProcess("A")
        yield* Scope.close(a.scope, Exit.void)
        assert.strictEqual(perProcess("A"), 0)
        if (fromA > 0) yield* waitFor("A's slots taken over", () => openNow(log).length === maxConnections)

        // A partition: B's NATS connection closes; its slots close by the deadline and only then
        // does C take them.
        const bHeld = perProcess("B")
        assert.isAbove(bHeld, 0)
        const { connection } = Effect.runSync(
          Effect.service(NatsClient.NatsClient).pipe(Effect.provide(b.client))
        )
        yield* Effect.promise(() => connection.close())
        yield* waitFor("B's slots closed", () => perProcess("B") === 0, 5_000)
        yield* waitFor("C holds every slot", () => perProcess("C") === maxConnections, 10_000)
        assert.deepStrictEqual(overlaps(log), [])
        yield* Scope.close(b.scope, Exit.void)
        yield* Scope.close(c.scope, Exit.void)
        assert.strictEqual(openNow(log).length, 0)
      }).pipe(Effect.scoped),
    60_000
  )

  it("holds every slot by default, outside a fleet", () => {
    const ran = Effect.runSync(SlotLease.everySlot.hold(3, Effect.succeed("ran")))
    assert.strictEqual(ran, "ran")
  })
})
