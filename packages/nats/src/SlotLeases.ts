/**
 * Slot leases in a JetStream KV bucket: the client's `SlotLease` for a fleet of processes.
 *
 * Every `renewEvery` the process writes its member key, reads the slot keys, and follows
 * `LeaseRules.plan`: it renews the leases it holds (compare-and-set on their revision), releases
 * those above its quota, and claims free slots it runs with a create-if-absent. A watcher per
 * lease interrupts the slot's loop (closing its connection) at the lease's deadline unless it was
 * renewed; the deadline falls well before the key can expire on the server, so nobody else can
 * claim the slot while its connection is open here. A released lease is deleted only after the
 * slot's loop has stopped.
 *
 * @since 0.1.0
 */
import * as ConnectionJournal from "@hitstream/client/ConnectionJournal"
import * as SlotLease from "@hitstream/client/SlotLease"
import { JetStreamApiError } from "@nats-io/jetstream"
import type { KV } from "@nats-io/kv"
import { Clock, Context, Deferred, Duration, Effect, Layer, Metric, Schedule, Scope } from "effect"
import * as LeaseRules from "./LeaseRules.ts"

/**
 * @since 0.1.0
 */
export interface Options {
  readonly kv: KV
  /** The leases' TTL: the bucket's. */
  readonly ttl: number
  /** Key prefix of the stream (`FleetBucket.streamKey`). */
  readonly prefix: string
  readonly maxConnections: number
  /** This process, in the bucket and the logs. */
  readonly processId: string
}

/**
 * @since 0.1.0
 */
export const metrics = {
  held: Metric.gauge("hitstream_fleet_leases_held", { description: "Slot leases this process holds" }),
  slot: Metric.gauge("hitstream_fleet_slot_leased", {
    description: "1 while this process holds the slot's lease (label slot)"
  }),
  members: Metric.gauge("hitstream_fleet_members", { description: "Live processes in the fleet" }),
  losses: Metric.counter("hitstream_fleet_lease_losses_total", {
    description: "Leases lost without a release (not renewed in time, or taken over)"
  })
}

/**
 * Who holds each slot, as last read from the bucket.
 *
 * @since 0.1.0
 */
export interface Ownership {
  readonly processId: string
  readonly members: number
  readonly quota: number
  readonly slots: ReadonlyArray<{
    readonly slot: number
    readonly holder: string | undefined
    readonly mine: boolean
  }>
}

interface Grant {
  /** Completed when the lease is lost or released: the slot's loop must stop. */
  readonly lost: Deferred.Deferred<void>
  /** Completed once the slot's loop has stopped. */
  readonly stopped: Deferred.Deferred<void>
}

interface SlotState {
  wanted: boolean
  /** Completed when this process holds the lease; replaced when the lease ends. */
  granted: Deferred.Deferred<Grant>
  grant: Grant | undefined
  held: LeaseRules.Held | undefined
}

const encoder = new TextEncoder()
const decoder = new TextDecoder()

const isConflict = (e: unknown) =>
  e instanceof JetStreamApiError || /wrong last sequence|key exists/i.test((e as Error)?.message ?? "")

/**
 * The engine and its `SlotLease`. Runs until the scope closes, then releases what it holds.
 *
 * @since 0.1.0
 */
export const make = Effect.fn("SlotLeases.make")(function* (options: Options) {
  const journal = yield* ConnectionJournal.ConnectionJournal
  const timing = LeaseRules.timing(options.ttl)
  const { kv, prefix, maxConnections, processId } = options
  const slotKey = (slot: number) => `${prefix}.slot.${slot}`
  const memberKey = `${prefix}.member.${processId}`
  const slots: Array<SlotState> = []
  for (let slot = 0; slot < maxConnections; slot++) {
    slots.push({ wanted: false, granted: yield* Deferred.make<Grant>(), grant: undefined, held: undefined })
  }
  let ownership: Ownership = {
    processId,
    members: 0,
    quota: maxConnections,
    slots: slots.map((_, slot) => ({ slot, holder: undefined, mine: false }))
  }
  const scope = yield* Scope.Scope
  yield* Metric.update(metrics.losses, 0)
  const value = () => encoder.encode(JSON.stringify({ holder: processId }))
  const kvCall = <A>(f: () => Promise<A>) => Effect.tryPromise({ try: f, catch: (e) => e as Error })

  const countHeld = () => slots.filter((s) => s.held !== undefined).length
  const publishHeld = (slot: number) =>
    Effect.all([
      Metric.update(metrics.held, countHeld()),
      Metric.update(Metric.withAttributes(metrics.slot, { slot: String(slot) }), slots[slot].held ? 1 : 0)
    ])

  // The lease ends here: the slot's loop is told to stop, and a new grant will be needed.
  const endLease = (slot: number) =>
    Effect.gen(function* () {
      const state = slots[slot]
      const grant = state.grant
      state.held = undefined
      state.grant = undefined
      if (Deferred.isDoneUnsafe(state.granted)) state.granted = yield* Deferred.make<Grant>()
      if (grant !== undefined) yield* Deferred.succeed(grant.lost, undefined)
      yield* publishHeld(slot)
      return grant
    })

  const lose = (slot: number, why: string) =>
    Effect.gen(function* () {
      if (slots[slot].held === undefined) return
      yield* Effect.logWarning(`slot ${slot}: lease lost (${why}); closing its connection`)
      yield* Metric.update(metrics.losses, 1)
      yield* endLease(slot)
    })

  // Graceful: stop the loop, then delete the key so another process may claim the slot at once.
  const release = (slot: number, why: string) =>
    Effect.gen(function* () {
      const held = slots[slot].held
      if (held === undefined) return
      yield* Effect.logInfo(`slot ${slot}: releasing its lease (${why})`)
      const grant = yield* endLease(slot)
      if (grant !== undefined) {
        const left = LeaseRules.deadline(held, timing) - (yield* Clock.currentTimeMillis)
        const stopped = yield* Deferred.await(grant.stopped).pipe(Effect.timeoutOption(Math.max(0, left)))
        // A loop that did not stop in time may still hold its connection: the key is left to
        // expire rather than handed over.
        if (stopped._tag === "None") {
          yield* Effect.logWarning(
            `slot ${slot}: its connection did not close in time; its lease is left to expire`
          )
          return
        }
      }
      yield* kvCall(() => kv.delete(slotKey(slot), { previousSeq: held.revision })).pipe(Effect.ignore)
    })

  // Closes the connection at the deadline unless a renewal moved it.
  const watch = (slot: number) =>
    Effect.gen(function* () {
      while (true) {
        const held = slots[slot].held
        if (held === undefined) return
        const left = LeaseRules.deadline(held, timing) - (yield* Clock.currentTimeMillis)
        if (left <= 0) return yield* lose(slot, `not renewed within ${timing.holdFor / 1000} s`)
        yield* Effect.sleep(Math.min(left, timing.renewEvery))
      }
    })

  const claim = (slot: number) =>
    Effect.gen(function* () {
      const sentAt = yield* Clock.currentTimeMillis
      const created = yield* kvCall(() => kv.create(slotKey(slot), value())).pipe(Effect.option)
      if (created._tag === "None") return
      const state = slots[slot]
      const grant: Grant = { lost: yield* Deferred.make<void>(), stopped: yield* Deferred.make<void>() }
      state.held = { slot, revision: created.value, sentAt }
      state.grant = grant
      yield* Effect.logInfo(`slot ${slot}: lease acquired`)
      yield* publishHeld(slot)
      yield* Effect.forkIn(watch(slot), scope)
      if (!state.wanted) return yield* release(slot, "no longer running")
      yield* Deferred.succeed(state.granted, grant)
    })

  const renew = (slot: number, revision: number) =>
    Effect.gen(function* () {
      const sentAt = yield* Clock.currentTimeMillis
      const result = yield* kvCall(() => kv.update(slotKey(slot), value(), revision, timing.renewEvery)).pipe(
        Effect.result
      )
      const state = slots[slot]
      if (state.held?.revision !== revision) return
      if (result._tag === "Success") state.held = { slot, revision: result.success, sentAt }
      else if (isConflict(result.failure)) yield* lose(slot, "another process holds it now")
      // Otherwise (NATS unreachable) the lease stays until its deadline: the next tick retries.
    })

  const read = Effect.gen(function* () {
    yield* kvCall(() => kv.put(memberKey, encoder.encode(processId)))
    const holders = yield* Effect.forEach(
      slots,
      (_, slot) =>
        kvCall(() => kv.get(slotKey(slot))).pipe(
          Effect.map((entry) =>
            entry === null || entry.operation !== "PUT"
              ? undefined
              : ((JSON.parse(decoder.decode(entry.value)) as { holder?: string }).holder ?? "?")
          )
        ),
      { concurrency: "unbounded" }
    )
    // A key written while it is listed can come twice: counted as a set.
    const members = yield* kvCall(async () => {
      const keys = new Set<string>()
      for await (const key of await kv.keys(`${prefix}.member.*`)) keys.add(key)
      return keys.size
    })
    return { holders, members }
  })

  const tick = Effect.gen(function* () {
    const seen = yield* Effect.result(read)
    if (seen._tag === "Failure") {
      yield* Effect.logDebug(`cannot read the lease bucket: ${seen.failure.message}`)
      return
    }
    const { holders, members } = seen.success
    const now = yield* Clock.currentTimeMillis
    const held = slots.flatMap((s) => (s.held ? [s.held] : []))
    const taken = new Set(holders.flatMap((h, slot) => (h === undefined ? [] : [slot])))
    const wanted = new Set(slots.flatMap((s, slot) => (s.wanted ? [slot] : [])))
    const actions = LeaseRules.plan({ now, maxConnections, held, taken, members, wanted }, timing)
    for (const action of actions) {
      switch (action._tag) {
        case "Lose":
          yield* lose(action.slot, `not renewed within ${timing.holdFor / 1000} s`)
          break
        case "Renew":
          yield* renew(action.slot, action.revision)
          break
        case "Release":
          yield* Effect.forkIn(
            release(action.slot, `over this process's share of ${LeaseRules.quota(maxConnections, members)}`),
            scope
          )
          break
        case "Claim":
          yield* claim(action.slot)
      }
    }
    yield* Metric.update(metrics.members, members)
    ownership = {
      processId,
      members,
      quota: LeaseRules.quota(maxConnections, members),
      slots: holders.map((holder, slot) => ({
        slot,
        holder: slots[slot].held ? processId : holder,
        mine: slots[slot].held !== undefined
      }))
    }
  })

  // The first tick registers this process; claims wait for the next, so that processes started
  // together see each other before taking slots.
  yield* kvCall(() => kv.put(memberKey, encoder.encode(processId))).pipe(Effect.ignore)
  yield* Effect.sleep(timing.renewEvery)
  yield* Effect.forkScoped(
    tick.pipe(
      Effect.catchCause((cause) => Effect.logWarning("lease tick failed", cause)),
      Effect.repeat(Schedule.spaced(Duration.millis(timing.renewEvery)))
    )
  )
  yield* Effect.addFinalizer(() =>
    Effect.forEach(slots, (_, slot) => release(slot, "stopping"), { discard: true }).pipe(
      Effect.andThen(kvCall(() => kv.delete(memberKey))),
      Effect.ignore
    )
  )

  // A loop that stopped on a lost lease may have left a heartbeat: its connection is closed now.
  const noteClosed = (slot: number) =>
    Effect.gen(function* () {
      const last = yield* journal.last(slot)
      if (last?.alive === true)
        yield* journal.record(slot, { at: yield* Clock.currentTimeMillis, alive: false })
    })

  const lease: SlotLease.SlotLease = {
    hold: <A, E, R>(slot: number, loop: Effect.Effect<A, E, R>) =>
      Effect.gen(function* () {
        if (slot >= maxConnections) return yield* Effect.never
        const state = slots[slot]
        state.wanted = true
        while (true) {
          const grant = yield* Deferred.await(state.granted)
          const ended = yield* Effect.raceFirst(
            Effect.map(loop, (a) => ({ done: true as const, a })),
            Effect.as(Deferred.await(grant.lost), { done: false as const })
          ).pipe(Effect.ensuring(Deferred.succeed(grant.stopped, undefined)))
          if (ended.done) return ended.a
          yield* noteClosed(slot)
        }
      }).pipe(
        Effect.ensuring(
          Effect.suspend(() => {
            slots[slot].wanted = false
            return release(slot, "the stream stopped")
          })
        )
      ) as Effect.Effect<A, E, R>
  }

  return { lease, ownership: Effect.sync(() => ownership), timing }
})

/**
 * The fleet's view of the leases, for the status line and `/metrics`.
 *
 * @since 0.1.0
 */
export class FleetLeases extends Context.Service<
  FleetLeases,
  {
    /** Who holds each slot, as of the last tick. */
    readonly ownership: Effect.Effect<Ownership>
    readonly timing: LeaseRules.Timing
  }
>()("@hitstream/nats/FleetLeases") {}

/**
 * `SlotLease` from the bucket, for `LiveStream`, and `FleetLeases`. Needs the fleet's
 * `ConnectionJournal`.
 *
 * @since 0.1.0
 */
export const layer = (
  options: Options
): Layer.Layer<FleetLeases, never, ConnectionJournal.ConnectionJournal> =>
  Layer.effectContext(
    Effect.map(make(options), ({ lease, ownership, timing }) =>
      Context.make(FleetLeases, FleetLeases.of({ ownership, timing })).pipe(
        Context.add(SlotLease.SlotLease, lease)
      )
    )
  )
