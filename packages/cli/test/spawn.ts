// Spawns the real `hitstream` binary, as a user's shell would.
import { Simulator } from "@hitstream/simulator"
import { Effect } from "effect"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
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
  // Decoded as a stream: a character split across two pipe reads stays whole.
  child.stdout!.setEncoding("utf8")
  child.stderr!.setEncoding("utf8")
  child.stdout!.on("data", (d: string) => (stdout += d))
  child.stderr!.on("data", (d: string) => (stderr += d))
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

export type Sim = Simulator.Simulator["Service"]

/** Runs `f` against a simulator started for it (short grace period, a known secret). */
export const withSim = <A, E>(options: Partial<Simulator.Options>, f: (sim: Sim) => Effect.Effect<A, E>) =>
  Effect.gen(function* () {
    return yield* f(yield* Simulator.Simulator)
  }).pipe(Effect.provide(Simulator.layer({ gracePeriod: 200, clientSecret: "s3cr3t-Value-42", ...options })))

/** A fresh directory under the system's temporary one. */
export const tmp = () => mkdtempSync(join(tmpdir(), "hitstream-cli-"))

/** The flags and environment that point `hitstream run` at the simulator, with short spacing. */
export const connect = (
  sim: Pick<Sim, "streamUrl" | "clientId" | "tokenUrl" | "clientSecret">,
  state = tmp()
) => ({
  args: [
    "--url",
    sim.streamUrl(),
    "--client-id",
    sim.clientId,
    "--token-url",
    sim.tokenUrl(),
    "--state-dir",
    state
  ],
  env: {
    HITSTREAM_CLIENT_SECRET: sim.clientSecret,
    HITSTREAM_MIN_RECONNECT_DELAY: "300ms",
    HITSTREAM_MAX_RECONNECT_DELAY: "500ms"
  }
})
