/**
 * The 60-second rule across the fleet: `ConnectionJournal` in a JetStream KV bucket, so a slot
 * that moves to another process still waits out the spacing from its previous holder's loss.
 *
 * One key per slot holds its last record (a loss, or a heartbeat of a connection still open). The
 * heartbeat rule of the local journal applies unchanged: a holder killed while streaming leaves a
 * heartbeat, and the next holder waits the full minimum.
 *
 * Writes are compare-and-set on the revision just read, and never move a record back in time: a
 * write that a partitioned process queued and the client sent late cannot overwrite a newer one.
 * When the bucket cannot be read, the answer is the cautious one (alive a moment ago: wait the
 * full minimum). Times are the writers' clocks, so the fleet's clocks should agree (NTP).
 *
 * @since 0.1.0
 */
import * as ConnectionJournal from "@hitstream/client/ConnectionJournal"
import type { KV } from "@nats-io/kv"
import { Clock, Effect, Layer } from "effect"

const decoder = new TextDecoder()

/**
 * A record, or `undefined` when the value is not one.
 *
 * @since 0.1.0
 */
export const decode = (value: Uint8Array): ConnectionJournal.Entry | undefined => {
  try {
    const parsed = JSON.parse(decoder.decode(value))
    return typeof parsed?.at === "number" && Number.isFinite(parsed.at)
      ? { at: parsed.at, alive: parsed.alive === true }
      : undefined
  } catch {
    return undefined
  }
}

/**
 * Whether `next` may replace `current`: never an older record over a newer one.
 *
 * @since 0.1.0
 */
export const supersedes = (next: ConnectionJournal.Entry, current: ConnectionJournal.Entry | undefined) =>
  current === undefined || next.at >= current.at

/**
 * The journal over `kv`, keys `<prefix>.slot.<n>`.
 *
 * @since 0.1.0
 */
export const make = (kv: KV, prefix: string): ConnectionJournal.ConnectionJournal["Service"] => {
  const key = (slot: number) => `${prefix}.slot.${slot}`
  const read = (slot: number) =>
    Effect.tryPromise({ try: () => kv.get(key(slot)), catch: (e) => e as Error }).pipe(
      Effect.map((entry) =>
        entry === null || entry.operation !== "PUT"
          ? { revision: entry?.revision ?? 0, entry: undefined }
          : { revision: entry.revision, entry: decode(entry.value) }
      )
    )
  return {
    last: (slot) =>
      read(slot).pipe(
        Effect.map((r) => r.entry),
        Effect.catch((e) =>
          Effect.gen(function* () {
            const now = yield* Clock.currentTimeMillis
            yield* Effect.logWarning(
              `slot ${slot}: cannot read its last connection end from the KV bucket (${e.message}); waiting the full minimum to be safe`
            )
            return { at: now, alive: true }
          })
        )
      ),
    record: (slot, entry) =>
      Effect.gen(function* () {
        const value = JSON.stringify(entry)
        for (let attempt = 0; attempt < 3; attempt++) {
          const current = yield* read(slot)
          if (!supersedes(entry, current.entry)) return
          const written = yield* Effect.tryPromise(() =>
            current.revision === 0
              ? kv.create(key(slot), value)
              : kv.update(key(slot), value, current.revision)
          ).pipe(Effect.option)
          if (written._tag === "Some") return
        }
        yield* Effect.logWarning(`slot ${slot}: could not record its connection state in the KV bucket`)
      }).pipe(
        Effect.catch((e) =>
          Effect.logWarning(`slot ${slot}: cannot write its connection state to the KV bucket: ${e.message}`)
        )
      )
  }
}

/**
 * The fleet journal as the client's `ConnectionJournal`.
 *
 * @since 0.1.0
 */
export const layer = (kv: KV, prefix: string): Layer.Layer<ConnectionJournal.ConnectionJournal> =>
  Layer.succeed(ConnectionJournal.ConnectionJournal, ConnectionJournal.ConnectionJournal.of(make(kv, prefix)))
