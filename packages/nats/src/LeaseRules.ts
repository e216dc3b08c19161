/**
 * The slot lease rules, with no I/O: when a lease counts as held, how many slots a process may
 * take, and what a process does on each tick. `SlotLeases` runs them against a JetStream KV
 * bucket; the tests run them against a stand-in KV.
 *
 * The safety argument, which the model test checks: a lease key expires on the server `ttl` after
 * the write that last renewed it was stored, and that write was stored no earlier than the moment
 * it was sent. The holder therefore counts its lease only until `sentAt + holdFor`, with
 * `holdFor < ttl`, and closes the slot's connection by then. Nobody else can create the key
 * before `sentAt + ttl`. Two processes never hold one slot at once, whatever the network does
 * between them and NATS, as long as their clocks advance at the same rate (not necessarily in
 * sync).
 *
 * @since 0.1.0
 */

/**
 * How long a lease lives and how often it is renewed, in milliseconds.
 *
 * @since 0.1.0
 */
export interface Timing {
  /** The bucket's TTL: a key not renewed for this long disappears on the server. */
  readonly ttl: number
  /** How often the holder renews (and looks for free slots). */
  readonly renewEvery: number
  /** How long after the send of its last successful renewal the holder still counts the lease. */
  readonly holdFor: number
}

/**
 * From the bucket's TTL: renew every fifth of it, count the lease for two thirds of it. One third
 * of the TTL is left to close the connection after the holder stops counting the lease.
 *
 * @since 0.1.0
 */
export const timing = (ttl: number): Timing => ({
  ttl,
  renewEvery: Math.max(1, Math.floor(ttl / 5)),
  holdFor: Math.floor((ttl * 2) / 3)
})

/**
 * The most slots one process takes: `ceil(maxConnections / live processes)`.
 *
 * @since 0.1.0
 */
export const quota = (maxConnections: number, liveProcesses: number): number =>
  Math.ceil(maxConnections / Math.max(1, liveProcesses))

/**
 * A lease this process holds: the KV revision of its last write, and when that write was sent.
 *
 * @since 0.1.0
 */
export interface Held {
  readonly slot: number
  readonly revision: number
  readonly sentAt: number
}

/**
 * The moment the lease stops counting unless renewed.
 *
 * @since 0.1.0
 */
export const deadline = (held: Held, timing: Timing): number => held.sentAt + timing.holdFor

/**
 * Whether the lease still counts at `now`: the slot's connection may be open only while it does.
 *
 * @since 0.1.0
 */
export const isHeld = (held: Held, timing: Timing, now: number): boolean => now < deadline(held, timing)

/**
 * What one process sees on a tick.
 *
 * @since 0.1.0
 */
export interface View {
  readonly now: number
  readonly maxConnections: number
  /** The leases this process holds (as far as it knows). */
  readonly held: ReadonlyArray<Held>
  /** Slots whose key exists in the bucket (held by anyone, this process included). */
  readonly taken: ReadonlySet<number>
  /** Live processes, this one included (their member keys in the bucket). */
  readonly members: number
  /** Slots this process wants (its stream is running them); only those are claimed. */
  readonly wanted: ReadonlySet<number>
}

/**
 * One step of a tick.
 *
 * - `Lose`: the lease stopped counting; close the slot's connection now.
 * - `Renew`: write the key again (compare-and-set on `revision`).
 * - `Release`: more slots than the quota (or no longer wanted): close the connection, then delete
 *   the key so that another process can claim it.
 * - `Claim`: create the key if absent.
 *
 * @since 0.1.0
 */
export type Action =
  | { readonly _tag: "Lose"; readonly slot: number }
  | { readonly _tag: "Renew"; readonly slot: number; readonly revision: number }
  | { readonly _tag: "Release"; readonly slot: number; readonly revision: number }
  | { readonly _tag: "Claim"; readonly slot: number }

/**
 * The tick's plan. Leases past their deadline are lost; of the rest, those above the quota or no
 * longer wanted are released (the highest slots first) and the others renewed; below the quota,
 * free wanted slots are claimed, lowest first.
 *
 * @since 0.1.0
 */
export const plan = (view: View, timing: Timing): ReadonlyArray<Action> => {
  const actions: Array<Action> = []
  const valid: Array<Held> = []
  for (const held of view.held) {
    if (isHeld(held, timing, view.now)) valid.push(held)
    else actions.push({ _tag: "Lose", slot: held.slot })
  }
  const limit = quota(view.maxConnections, view.members)
  const keep = valid
    .filter((held) => view.wanted.has(held.slot))
    .sort((a, b) => a.slot - b.slot)
    .slice(0, limit)
  const kept = new Set(keep.map((held) => held.slot))
  for (const held of valid) {
    actions.push(
      kept.has(held.slot)
        ? { _tag: "Renew", slot: held.slot, revision: held.revision }
        : { _tag: "Release", slot: held.slot, revision: held.revision }
    )
  }
  let room = limit - keep.length
  const mine = new Set(view.held.map((held) => held.slot))
  for (let slot = 0; slot < view.maxConnections && room > 0; slot++) {
    if (view.wanted.has(slot) && !view.taken.has(slot) && !mine.has(slot)) {
      actions.push({ _tag: "Claim", slot })
      room--
    }
  }
  return actions
}
