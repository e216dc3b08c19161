// Spawns the real `hitstream` binary, as a user's shell would.
import { Effect } from "effect"
import { type ChildProcess, spawn } from "node:child_process"
import { fileURLToPath } from "node:url"

export const bin = fileURLToPath(new URL("../src/bin.ts", import.meta.url))

/** Node flags that run our sources: `@hitstream/*` imports resolve to `src/*.ts`. */
export const sourceFlags = ["--conditions=@hitstream/source"]

export interface Run {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdout: string
  readonly stderr: string
}

export interface Spawned {
  readonly child: ChildProcess
  readonly stdout: () => string
  readonly stderr: () => string
  readonly done: Effect.Effect<Run>
}

export const start = (args: ReadonlyArray<string>, env: Record<string, string> = {}): Spawned => {
  const child = spawn(process.execPath, [...sourceFlags, bin, ...args], {
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", ...env },
    stdio: ["ignore", "pipe", "pipe"]
  })
  let stdout = ""
  let stderr = ""
  child.stdout!.on("data", (d) => (stdout += d))
  child.stderr!.on("data", (d) => (stderr += d))
  const exited = new Promise<Run>((resolve) =>
    child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr }))
  )
  return {
    child,
    stdout: () => stdout,
    stderr: () => stderr,
    done: Effect.promise(() => exited).pipe(
      Effect.timeout("60 seconds"),
      Effect.onInterrupt(() => Effect.sync(() => child.kill("SIGKILL"))),
      Effect.orDie
    )
  }
}

export const run = (args: ReadonlyArray<string>, env: Record<string, string> = {}) => start(args, env).done

/** Waits until `predicate` holds, polling; fails the test after `within` milliseconds. */
export const until = (predicate: () => boolean, within = 20_000) =>
  Effect.gen(function* () {
    const deadline = Date.now() + within
    while (!predicate()) {
      if (Date.now() > deadline) return yield* Effect.die(new Error("condition not met in time"))
      yield* Effect.sleep(20)
    }
  })
