/**
 * Where each slot's last connection end is kept, so that the 60-second rule survives restarts.
 *
 * A supervisor restarting a crashing process every second must not turn into a client that
 * reconnects every second. The journal records, per slot, the last moment a connection was
 * known to be alive or ended (a heartbeat while streaming, since `kill -9` runs no finalizer);
 * on start, a slot whose last end is less than `minReconnectDelay` ago waits the remainder.
 *
 * @since 0.1.0
 */
import { ReconnectPolicy, RedactedUrl } from "@hitstream/core"
import { Context, Effect, FileSystem, Layer, Path } from "effect"

/**
 * One record: a time in Unix milliseconds, and whether the connection was still alive then.
 *
 * @since 0.1.0
 */
export interface Entry {
  readonly at: number
  readonly alive: boolean
}

/**
 * How long a slot must wait on start, given its last record: a connection last seen alive may
 * have died a moment ago (a `kill -9` runs no finalizer), so it waits the whole minimum; one
 * that ended waits what is left of the minimum.
 *
 * @since 0.1.0
 */
export const waitOnStart = (
  entry: Entry | undefined,
  policy: ReconnectPolicy.Options,
  now: number
): number =>
  entry === undefined
    ? 0
    : entry.alive
      ? policy.minReconnectDelay
      : ReconnectPolicy.remainingAfterRestart(policy, entry.at, now)

/**
 * @since 0.1.0
 */
export class ConnectionJournal extends Context.Service<
  ConnectionJournal,
  {
    /** The slot's last record: when its connection ended, or was last seen alive. */
    readonly last: (slot: number) => Effect.Effect<Entry | undefined>
    /** Records an end (`alive: false`) or a heartbeat of a connection still open (`alive: true`). */
    readonly record: (slot: number, entry: Entry) => Effect.Effect<void>
  }
>()("@hitstream/client/ConnectionJournal") {}

/**
 * Kept in memory only: restarts of the process start afresh.
 *
 * @since 0.1.0
 */
export const layerMemory: Layer.Layer<ConnectionJournal> = Layer.sync(ConnectionJournal, () => {
  const entries = new Map<number, Entry>()
  return ConnectionJournal.of({
    last: (slot) => Effect.sync(() => entries.get(slot)),
    record: (slot, entry) =>
      Effect.sync(() => {
        entries.set(slot, entry)
      })
  })
})

/**
 * Kept in files under `directory`, one per stream and slot. `key` names the stream (its URL,
 * of which only host and path are used), so two streams sharing a state directory do not hold
 * each other back.
 *
 * @since 0.1.0
 */
export const layerFile = (
  directory: string,
  key: string
): Layer.Layer<ConnectionJournal, never, FileSystem.FileSystem | Path.Path> =>
  Layer.effect(
    ConnectionJournal,
    Effect.gen(function* () {
      const fs = yield* FileSystem.FileSystem
      const path = yield* Path.Path
      // Host and path only: userinfo or a token in the query must never reach a file name.
      const name = RedactedUrl.endpointKey(key)
        .replace(/[^a-zA-Z0-9._-]+/g, "_")
        .slice(0, 120)
      const file = (slot: number) => path.join(directory, `${name}.slot-${slot}.json`)
      yield* fs
        .makeDirectory(directory, { recursive: true })
        .pipe(
          Effect.catch((error) =>
            Effect.logWarning(`cannot create the state directory ${directory}`, error.message)
          )
        )
      return ConnectionJournal.of({
        last: (slot) =>
          fs.readFileString(file(slot)).pipe(
            Effect.map((text): Entry | undefined => {
              const value = JSON.parse(text)
              return typeof value?.lastEnd === "number" && Number.isFinite(value.lastEnd)
                ? { at: value.lastEnd, alive: value.alive === true }
                : undefined
            }),
            Effect.catchCause(() => Effect.succeed(undefined))
          ),
        record: (slot, { at, alive }) => {
          // Written aside, then renamed: a crash mid-write never leaves a truncated file.
          const target = file(slot)
          const temporary = `${target}.tmp`
          return fs
            .writeFileString(
              temporary,
              JSON.stringify({ lastEnd: at, alive, at: new Date(at).toISOString() })
            )
            .pipe(
              Effect.andThen(fs.rename(temporary, target)),
              Effect.catch((error) => Effect.logWarning(`cannot write ${target}`, error.message))
            )
        }
      })
    })
  )
