// The lease engine's timing under TestClock, over a stand-in KV whose keys expire `ttl` after
// their last write (by the test clock) and which can be cut off as a partition would.
import { assert, describe, it } from "@effect/vitest"
import * as ConnectionJournal from "@hitstream/client/ConnectionJournal"
import type { KV } from "@nats-io/kv"
import { Clock, Effect, Fiber } from "effect"
import { TestClock } from "effect/testing"
import { SlotLeases } from "../src/index.ts"

const ttl = 3_000 // renew every 600 ms, hold for 2000 ms after the last renewal was sent

const standInKv = (now: () => number) => {
  let revision = 0
  let cutOff = false
  const entries = new Map<string, { revision: number; storedAt: number; value: Uint8Array }>()
  const live = (key: string) => {
    const e = entries.get(key)
    if (e !== undefined && now() >= e.storedAt + ttl) entries.delete(key)
    return entries.get(key)
  }
  const guard = () => {
    if (cutOff) throw new Error("timeout")
  }
  const write = (key: string, value: Uint8Array) => {
    entries.set(key, { revision: ++revision, storedAt: now(), value })
    return revision
  }
  const kv = {
    create: async (key: string, value: Uint8Array) => {
      guard()
      if (live(key) !== undefined) throw new Error("wrong last sequence: key exists")
      return write(key, value)
    },
    update: async (key: string, value: Uint8Array, expected: number) => {
      guard()
      if (live(key)?.revision !== expected) throw new Error("wrong last sequence")
      return write(key, value)
    },
    put: async (key: string, value: Uint8Array) => {
      guard()
      return write(key, value)
    },
    get: async (key: string) => {
      guard()
      const e = live(key)
      return e === undefined ? null : { value: e.value, revision: e.revision, operation: "PUT" }
    },
    delete: async (key: string, options?: { previousSeq?: number }) => {
      guard()
      if (options?.previousSeq === undefined || live(key)?.revision === options.previousSeq)
        entries.delete(key)
    },
    keys: async (filter: string) => {
      guard()
      const prefix = filter.replace(/\*$/, "")
      return (async function* () {
        for (const key of Array.from(entries.keys()))
          if (key.startsWith(prefix) && live(key) !== undefined) yield key
      })()
    }
  }
  return { kv: kv as unknown as KV, cut: (value: boolean) => (cutOff = value) }
}

// Lets the stand-in's promises settle and the fibers waiting on them run.
const settle = Effect.promise(() => new Promise((resolve) => setImmediate(resolve))).pipe(
  Effect.repeat({ times: 5 })
)

const advance = (millis: number) =>
  Effect.gen(function* () {
    for (let i = 0; i < millis / 100; i++) {
      yield* TestClock.adjust(100)
      yield* settle
    }
  })

describe("SlotLeases timing (TestClock)", () => {
  it.effect(
    "closes a slot at the lease's deadline when renewals fail, and reopens it only after the key expired",
    () =>
      Effect.gen(function* () {
        let clock = 0
        const store = standInKv(() => clock)
        const events: Array<string> = []
        const journal = yield* ConnectionJournal.ConnectionJournal
        const made = yield* Effect.forkChild(
          SlotLeases.make({ kv: store.kv, ttl, prefix: "t", maxConnections: 1, processId: "me" }).pipe(
            Effect.provideService(ConnectionJournal.ConnectionJournal, journal)
          )
        )
        const now = () => Effect.map(Clock.currentTimeMillis, (t) => (clock = t))
        yield* settle
        yield* advance(600)
        const { lease } = yield* Fiber.join(made)
        const connection = Effect.acquireRelease(
          Effect.flatMap(now(), (t) => Effect.sync(() => events.push(`open ${t}`))),
          () => Effect.flatMap(now(), (t) => Effect.sync(() => events.push(`close ${t}`)))
        ).pipe(Effect.andThen(Effect.never), Effect.scoped)
        yield* Effect.forkChild(lease.hold(0, connection))
        // Keep the stand-in's clock with the test clock.
        yield* Effect.forkChild(now().pipe(Effect.andThen(Effect.sleep(10)), Effect.forever))
        yield* advance(1_200)
        assert.strictEqual(events.length, 1, events.join())
        const opened = Number(events[0].split(" ")[1])

        // NATS out of reach: renewals fail; the connection stays open until two thirds of the TTL
        // after the send of the last successful renewal, then closes.
        const lastRenewal = Math.floor((opened + 1_200) / 600) * 600
        store.cut(true)
        yield* advance(2_600)
        const closed = events.find((e) => e.startsWith("close"))
        assert.isDefined(closed, events.join())
        const closedAt = Number(closed!.split(" ")[1])
        assert.isAtMost(closedAt, lastRenewal + 2_000 + 100)
        assert.isAtLeast(closedAt, opened + 2_000)

        // Reachable again: the key written at the last renewal expires a full TTL after it, and
        // only then is the slot claimed and opened again.
        store.cut(false)
        yield* advance(4_000)
        const reopened = events.filter((e) => e.startsWith("open"))
        assert.strictEqual(reopened.length, 2, events.join())
        assert.isAtLeast(Number(reopened[1].split(" ")[1]), closedAt + (ttl - 2_000))
      }).pipe(Effect.provide(ConnectionJournal.layerMemory), Effect.scoped)
  )
})
