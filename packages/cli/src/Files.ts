/**
 * The files and directories `run` writes, checked and prepared before any connection: the
 * state directory is created private (0700, or `--file-mode` with search bits) whatever the
 * umask, and the sink's directory must exist. A problem is a `SettingsError` naming the flag.
 *
 * @since 0.1.0
 */
import { Effect, FileSystem, Path } from "effect"
import { homedir } from "node:os"
import * as Settings from "./Settings.ts"

/**
 * `$XDG_STATE_HOME/hitstream`, or `~/.local/state/hitstream`.
 *
 * @since 0.1.0
 */
export const defaultStateDir = (env: Record<string, string | undefined> = process.env) =>
  `${env.XDG_STATE_HOME || `${homedir()}/.local/state`}/hitstream`

/**
 * Creates the state directory (and its parents) and sets its mode exactly.
 *
 * @since 0.1.0
 */
export const prepareStateDir = (directory: string, fileMode: number) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const mode = Settings.directoryMode(fileMode)
    const fail = (what: string) =>
      new Settings.SettingsError({
        field: "stateDir",
        message: `${Settings.named("stateDir")} ${directory}: ${what}`
      })
    yield* fs
      .makeDirectory(directory, { recursive: true, mode })
      .pipe(Effect.mapError((e) => fail(`cannot create it: ${Settings.reasonOf(e)}`)))
    const info = yield* fs.stat(directory).pipe(Effect.mapError((e) => fail(Settings.reasonOf(e))))
    if (info.type !== "Directory") return yield* fail("it is not a directory")
    // `makeDirectory` leaves an existing directory as it was, and the umask narrows a new one.
    yield* fs
      .chmod(directory, mode)
      .pipe(Effect.mapError((e) => fail(`cannot set its mode: ${Settings.reasonOf(e)}`)))
  })

/**
 * The file sink's directory exists and is a directory.
 *
 * @since 0.1.0
 */
export const checkSinkPath = (file: string) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const directory = path.dirname(path.resolve(file))
    const fail = (what: string) =>
      new Settings.SettingsError({
        field: "sink",
        message: `${Settings.named("sink")} file:${file}: ${what}`
      })
    const info = yield* fs
      .stat(directory)
      .pipe(Effect.mapError(() => fail(`the directory ${directory} does not exist; create it first`)))
    if (info.type !== "Directory") return yield* fail(`${directory} is not a directory`)
    const target = yield* fs.stat(file).pipe(Effect.option)
    if (target._tag === "Some" && target.value.type === "Directory") return yield* fail("it is a directory")
  })
