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
import { Context, Effect, FileSystem, Layer, Path } from "effect"

/**
 * @since 0.1.0
 */
export class ConnectionJournal extends Context.Service<
  ConnectionJournal,
  {
    /** When the slot's last connection ended (or was last seen alive), in Unix milliseconds. */
    readonly lastEnd: (slot: number) => Effect.Effect<number | undefined>
    readonly recordEnd: (slot: number, at: number) => Effect.Effect<void>
  }
>()("@hitstream/client/ConnectionJournal") {
  /** Kept in memory only: restarts of the process start afresh. */
  static readonly layerMemory: Layer.Layer<ConnectionJournal> = Layer.sync(ConnectionJournal, () => {
    const ends = new Map<number, number>()
    return ConnectionJournal.of({
      lastEnd: (slot) => Effect.sync(() => ends.get(slot)),
      recordEnd: (slot, at) =>
        Effect.sync(() => {
          ends.set(slot, at)
        })
    })
  })

  /**
   * Kept in files under `directory`, one per stream and slot. `key` names the stream (its URL),
   * so two streams sharing a state directory do not hold each other back.
   */
  static readonly layerFile = (
    directory: string,
    key: string
  ): Layer.Layer<ConnectionJournal, never, FileSystem.FileSystem | Path.Path> =>
    Layer.effect(
      ConnectionJournal,
      Effect.gen(function* () {
        const fs = yield* FileSystem.FileSystem
        const path = yield* Path.Path
        const name = key
          .replace(/^https?:\/\//, "")
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
          lastEnd: (slot) =>
            fs.readFileString(file(slot)).pipe(
              Effect.map((text) => {
                const value = JSON.parse(text)?.lastEnd
                return typeof value === "number" && Number.isFinite(value) ? value : undefined
              }),
              Effect.catchCause(() => Effect.succeed(undefined))
            ),
          recordEnd: (slot, at) => {
            // Written aside, then renamed: a crash mid-write never leaves a truncated file.
            const target = file(slot)
            const temporary = `${target}.tmp`
            return fs
              .writeFileString(temporary, JSON.stringify({ lastEnd: at, at: new Date(at).toISOString() }))
              .pipe(
                Effect.andThen(fs.rename(temporary, target)),
                Effect.catch((error) => Effect.logWarning(`cannot write ${target}`, error.message))
              )
          }
        })
      })
    )
}
