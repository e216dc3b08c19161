/**
 * Node's platform services for the command line, with the costly ones loaded on first use.
 *
 * `effect/cli` asks for the file system, the terminal and the child-process spawner up front,
 * but `--version`, `--help` and a usage error use none of them, and `run` only the file system.
 * Loading their Node modules eagerly (`crypto` for temporary names, `child_process` with `net`
 * and `dgram`, `readline`) was a fifth of the program's start. Here each of the three is a thin
 * stand-in that imports the real `@effect/platform-node` layer, builds it in the program's scope
 * and delegates to it, the first time one of its operations runs. Path and stdio are cheap and
 * built as usual.
 *
 * @since 0.1.0
 */
import * as NodePath from "@effect/platform-node/NodePath"
import * as NodeStdio from "@effect/platform-node/NodeStdio"
import { Context, Effect, FileSystem, Layer, Path, Sink, Stdio, Stream, Terminal } from "effect"
import { ChildProcessSpawner } from "effect/process/ChildProcessSpawner"
import * as Spawner from "effect/process/ChildProcessSpawner"

/**
 * The services `effect/cli` needs (`Command.Environment`).
 *
 * @since 0.1.0
 */
export type LazyNodeServices =
  | FileSystem.FileSystem
  | Path.Path
  | Terminal.Terminal
  | ChildProcessSpawner
  | Stdio.Stdio

/**
 * A layer for `key` whose service is `standIn(real)`: `real` imports the module holding the real
 * layer and builds it, once, the first time it runs, in the scope the stand-in lives in.
 */
const onFirstUse = <I, S, RIn>(
  key: Context.Key<I, S>,
  load: () => Promise<{ readonly layer: Layer.Layer<I, never, RIn> }>,
  standIn: (real: Effect.Effect<S>) => S
): Layer.Layer<I, never, RIn> =>
  Layer.effect(
    key,
    Effect.gen(function* () {
      const scope = yield* Effect.scope
      const context = yield* Effect.context<RIn>()
      const real = yield* Effect.cached(
        Effect.promise(load).pipe(
          Effect.flatMap((module) => Layer.buildWithScope(module.layer, scope)),
          Effect.map(Context.get(key)),
          Effect.provideContext(context)
        )
      )
      return standIn(real)
    })
  )

// FileSystem has some twenty operations; all but these three return an Effect.
const fileSystemStreams = new Set(["stream", "watch"])
const fileSystemSinks = new Set(["sink"])
const fileSystemTypeId = "~effect/FileSystem"

const lazyFileSystem = (real: Effect.Effect<FileSystem.FileSystem>): FileSystem.FileSystem =>
  new Proxy(Object.create(null) as FileSystem.FileSystem, {
    get: (_target, key) => {
      if (key === fileSystemTypeId) return fileSystemTypeId
      if (typeof key !== "string") return undefined
      const call = (fs: FileSystem.FileSystem, args: ReadonlyArray<unknown>) =>
        (fs as unknown as Record<string, (...args: ReadonlyArray<unknown>) => unknown>)[key](...args)
      if (fileSystemStreams.has(key)) {
        return (...args: ReadonlyArray<unknown>) =>
          Stream.unwrap(Effect.map(real, (fs) => call(fs, args) as Stream.Stream<unknown, unknown>))
      }
      if (fileSystemSinks.has(key)) {
        return (...args: ReadonlyArray<unknown>) =>
          Sink.unwrap(Effect.map(real, (fs) => call(fs, args) as Sink.Sink<unknown, unknown>))
      }
      return (...args: ReadonlyArray<unknown>) =>
        Effect.flatMap(real, (fs) => call(fs, args) as Effect.Effect<unknown, unknown>)
    },
    has: (_target, key) => key === fileSystemTypeId
  })

const lazyTerminal = (real: Effect.Effect<Terminal.Terminal>): Terminal.Terminal =>
  Terminal.make({
    columns: Effect.flatMap(real, (t) => t.columns),
    rows: Effect.flatMap(real, (t) => t.rows),
    size: Effect.flatMap(real, (t) => t.size),
    readInput: Effect.flatMap(real, (t) => t.readInput),
    readLine: Effect.flatMap(real, (t) => t.readLine),
    display: (text) => Effect.flatMap(real, (t) => t.display(text))
  })

const fileSystem = onFirstUse(
  FileSystem.FileSystem,
  () => import("@effect/platform-node/NodeFileSystem"),
  lazyFileSystem
)

const terminal = onFirstUse(
  Terminal.Terminal,
  () => import("@effect/platform-node/NodeTerminal"),
  lazyTerminal
)

// The real spawner needs the file system and path: it gets the stand-in and NodePath.
const spawner = onFirstUse(
  ChildProcessSpawner,
  () => import("@effect/platform-node/NodeChildProcessSpawner"),
  (real) => Spawner.make((command) => Effect.flatMap(real, (s) => s.spawn(command)))
)

/**
 * The services `effect/cli` needs, as `NodeServices.layer` provides them, with the file system,
 * the terminal and the spawner loaded on first use.
 *
 * @since 0.1.0
 */
export const layer: Layer.Layer<LazyNodeServices> = Layer.provideMerge(
  spawner,
  Layer.mergeAll(fileSystem, NodePath.layer, NodeStdio.layer, terminal)
)
