import { assert, describe, it } from "@effect/vitest"
import { Arbitrary, Schema } from "effect"
import { LeaseRules } from "../src/index.ts"

// A stand-in for the JetStream KV bucket: keys with revisions that expire `ttl` after the write
// that stored them, create-if-absent, compare-and-set update and delete.
class StandInKv {
  private revision = 0
  private readonly entries = new Map<string, { revision: number; storedAt: number }>()
  readonly ttl: number
  constructor(ttl: number) {
    this.ttl = ttl
  }
  private live(key: string, now: number) {
    const entry = this.entries.get(key)
    if (entry !== undefined && now >= entry.storedAt + this.ttl) this.entries.delete(key)
    return this.entries.get(key)
  }
  exists = (key: string, now: number) => this.live(key, now) !== undefined
  count = (prefix: string, now: number) =>
    [...this.entries.keys()].filter((k) => k.startsWith(prefix) && this.live(k, now) !== undefined).length
  create = (key: string, now: number): number | undefined => {
    if (this.live(key, now) !== undefined) return undefined
    this.entries.set(key, { revision: ++this.revision, storedAt: now })
    return this.revision
  }
  update = (key: string, revision: number, now: number): number | undefined => {
    const entry = this.live(key, now)
    if (entry === undefined || entry.revision !== revision) return undefined
    this.entries.set(key, { revision: ++this.revision, storedAt: now })
    return this.revision
  }
  put = (key: string, now: number) => void this.entries.set(key, { revision: ++this.revision, storedAt: now })
  remove = (key: string, revision: number, now: number) => {
    if (this.live(key, now)?.revision === revision) this.entries.delete(key)
  }
}

interface Process {
  alive: boolean
  partitioned: boolean
  held: Array<LeaseRules.Held>
}

const slotKey = (slot: number) => `slots.${slot}`

// One process's tick, as `SlotLeases` runs it: a partitioned process cannot read or write the
// bucket, so it can only let its leases run out. `delay` is how long ago the writes were sent
// (they reach the server late; the holder counts from the send).
const tick = (
  kv: StandInKv,
  p: Process,
  id: number,
  now: number,
  delay: number,
  maxConnections: number,
  timing: LeaseRules.Timing
) => {
  if (!p.alive) return
  const sentAt = now - delay
  if (p.partitioned) {
    p.held = p.held.filter((h) => LeaseRules.isHeld(h, timing, now))
    return
  }
  kv.put(`members.${id}`, now)
  const taken = new Set<number>()
  for (let slot = 0; slot < maxConnections; slot++) if (kv.exists(slotKey(slot), now)) taken.add(slot)
  const wanted = new Set(Array.from({ length: maxConnections }, (_, i) => i))
  const actions = LeaseRules.plan(
    { now, maxConnections, held: p.held, taken, members: kv.count("members.", now), wanted },
    timing
  )
  for (const action of actions) {
    switch (action._tag) {
      case "Lose":
        p.held = p.held.filter((h) => h.slot !== action.slot)
        break
      case "Renew": {
        const revision = kv.update(slotKey(action.slot), action.revision, now)
        p.held = p.held.filter((h) => h.slot !== action.slot)
        if (revision !== undefined) p.held.push({ slot: action.slot, revision, sentAt })
        break
      }
      case "Release":
        p.held = p.held.filter((h) => h.slot !== action.slot)
        kv.remove(slotKey(action.slot), action.revision, now)
        break
      case "Claim": {
        const revision = kv.create(slotKey(action.slot), now)
        if (revision !== undefined) p.held.push({ slot: action.slot, revision, sentAt })
      }
    }
  }
}

// The invariant: at every moment, a slot's connection is open in at most one process.
const openHolders = (
  processes: ReadonlyArray<Process>,
  slot: number,
  now: number,
  timing: LeaseRules.Timing
) =>
  processes.filter((p) => p.alive && p.held.some((h) => h.slot === slot && LeaseRules.isHeld(h, timing, now)))
    .length

const Int = (minimum: number, maximum: number) =>
  Arbitrary.schema(Schema.Int.check(Schema.isBetween({ minimum, maximum })))

// [kind, process, amount]: kinds 0-5 tick, 6 advance the clock, 7 toggle a partition, 8 crash,
// 9 restart.
const events = Arbitrary.array(Arbitrary.all([Int(0, 9), Int(0, 3), Int(0, 1000)]), { maxLength: 250 })

describe("LeaseRules", () => {
  it("derives renewal and hold times well inside the TTL", () => {
    const t = LeaseRules.timing(15_000)
    assert.deepStrictEqual(t, { ttl: 15_000, renewEvery: 3_000, holdFor: 10_000 })
    assert.isBelow(t.holdFor + t.renewEvery, t.ttl)
  })

  it("quota is ceil(maxConnections / live processes)", () => {
    assert.strictEqual(LeaseRules.quota(4, 3), 2)
    assert.strictEqual(LeaseRules.quota(4, 4), 1)
    assert.strictEqual(LeaseRules.quota(4, 9), 1)
    assert.strictEqual(LeaseRules.quota(8, 3), 3)
    assert.strictEqual(LeaseRules.quota(4, 0), 4)
  })

  it("plans: loses leases past their deadline, releases above the quota, claims free wanted slots", () => {
    const timing = LeaseRules.timing(3_000)
    const actions = LeaseRules.plan(
      {
        now: 10_000,
        maxConnections: 4,
        held: [
          { slot: 0, revision: 1, sentAt: 7_000 }, // deadline 9000: lost
          { slot: 1, revision: 2, sentAt: 9_500 },
          { slot: 3, revision: 3, sentAt: 9_500 }
        ],
        taken: new Set([0, 1, 3]),
        members: 4,
        wanted: new Set([0, 1, 2, 3])
      },
      timing
    )
    assert.deepStrictEqual(actions, [
      { _tag: "Lose", slot: 0 },
      { _tag: "Renew", slot: 1, revision: 2 },
      { _tag: "Release", slot: 3, revision: 3 }
    ])
    const alone = LeaseRules.plan(
      {
        now: 0,
        maxConnections: 4,
        held: [],
        taken: new Set([1]),
        members: 1,
        wanted: new Set([0, 1, 2])
      },
      timing
    )
    assert.deepStrictEqual(alone, [
      { _tag: "Claim", slot: 0 },
      { _tag: "Claim", slot: 2 }
    ])
  })

  it.prop(
    "never lets two processes hold one slot, through crashes, partitions and late writes; heals to every slot held within the quota",
    [events, Int(1, 8), Int(0, 400)],
    ([script, maxConnections, delay]) => {
      const timing = LeaseRules.timing(3_000)
      const kv = new StandInKv(timing.ttl)
      const processes: Array<Process> = Array.from({ length: 4 }, () => ({
        alive: true,
        partitioned: false,
        held: []
      }))
      let now = 1_000_000
      const check = () => {
        for (let slot = 0; slot < maxConnections; slot++)
          assert.isAtMost(openHolders(processes, slot, now, timing), 1, `slot ${slot} at ${now}`)
      }
      for (const [kind, id, amount] of script) {
        const p = processes[id]
        if (kind <= 5) tick(kv, p, id, now, Math.min(delay, amount), maxConnections, timing)
        else if (kind === 6) now += amount * 5
        else if (kind === 7) p.partitioned = !p.partitioned
        else if (kind === 8) {
          p.alive = false
          p.held = []
        } else if (kind === 9) p.alive = true
        check()
      }
      // Heal: every process up and connected, ticking on schedule.
      for (const p of processes) {
        p.alive = true
        p.partitioned = false
      }
      for (let round = 0; round < 20; round++) {
        for (let id = 0; id < processes.length; id++) {
          tick(kv, processes[id], id, now, 0, maxConnections, timing)
          check()
        }
        now += timing.renewEvery
      }
      const limit = LeaseRules.quota(maxConnections, processes.length)
      const held = processes.map((p) => p.held.filter((h) => LeaseRules.isHeld(h, timing, now)).length)
      for (const count of held) assert.isAtMost(count, limit)
      assert.strictEqual(
        held.reduce((a, b) => a + b, 0),
        maxConnections,
        `held ${held.join(",")}`
      )
    },
    { arbitrary: { runs: 200 }, timeout: 60_000 }
  )
})
