/**
 * The soak's processes: which `hitstream` it starts (the launcher and the bundle, or the sources),
 * how a child is spawned, scoped and waited for, and its memory read from `/proc/PID/status`.
 *
 * @since 0.1.0
 */
import { Duration, Effect, Option } from "effect"
import { type ChildProcess, type SpawnOptions, spawn } from "node:child_process"
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath } from "node:url"

/**
 * @since 0.1.0
 */
export const here = (path: string) => fileURLToPath(new URL(path, import.meta.url))
const sourceFlags = ["--conditions=@hitstream/source"]

// How the operator starts `hitstream`: the launcher, which loads the built bundle. Run from the
// sources instead (type stripping, every module's text kept) the same client idles 60 MB higher,
// so the sources are the fallback only while the bundle is missing or older than them.
const packagesDir = here("../../")
const launcher = join(packagesDir, "cli", "src", "bin", "hitstream.js")
const bundle = join(packagesDir, "cli", "dist", "bundle", "hitstream.js")
const newestSource = () => {
  let newest = 0
  for (const pkg of ["core", "client", "cli"]) {
    const dir = join(packagesDir, pkg, "src")
    for (const file of readdirSync(dir, { recursive: true }) as Array<string>) {
      if (file.endsWith(".ts")) newest = Math.max(newest, statSync(join(dir, file)).mtimeMs)
    }
  }
  return newest
}

/**
 * What the soak runs: the launcher and the bundle when the bundle is fresh, else the sources.
 *
 * @since 0.1.0
 */
export const program = (): { readonly args: ReadonlyArray<string>; readonly what: string } =>
  existsSync(bundle) && statSync(bundle).mtimeMs >= newestSource()
    ? { args: [launcher], what: "the launcher and the built bundle" }
    : { args: [here("../../cli/src/bin.ts")], what: "the sources (the bundle is missing or older)" }

/**
 * VmRSS and VmHWM of a process, in MB.
 *
 * @since 0.1.0
 */
export const memoryOf = (pid: number): { rss: number; hwm: number } | undefined => {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8")
    const kb = (key: string) =>
      Number(new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? Number.NaN)
    const rss = kb("VmRSS") / 1024
    const hwm = kb("VmHWM") / 1024
    // A process on its way out may no longer report one of them.
    return { rss, hwm: Number.isFinite(hwm) ? hwm : rss }
  } catch {
    return undefined
  }
}

/**
 * The first line a child prints (the simulator's settings).
 *
 * @since 0.1.0
 */
export const firstLine = (child: ChildProcess) =>
  Effect.callback<string, Error>((resume) => {
    let text = ""
    const onData = (d: Buffer) => {
      text += d.toString("utf8")
      const end = text.indexOf("\n")
      if (end >= 0) {
        child.stdout!.off("data", onData)
        resume(Effect.succeed(text.slice(0, end)))
      }
    }
    child.stdout!.on("data", onData)
    child.once("exit", (code) =>
      resume(Effect.fail(new Error(`the simulator exited (${code}) before printing its URL`)))
    )
  })

/**
 * Waits for a child to exit; past `timeout` it is killed.
 *
 * @since 0.1.0
 */
export const exited = (child: ChildProcess, timeout: Duration.Input) =>
  Effect.callback<number | null>((resume) => {
    if (child.exitCode !== null || child.signalCode !== null) return resume(Effect.succeed(child.exitCode))
    child.once("exit", (code) => resume(Effect.succeed(code)))
  }).pipe(
    Effect.timeoutOption(timeout),
    Effect.flatMap(
      Option.match({
        onSome: Effect.succeed,
        onNone: () => Effect.sync(() => (child.kill("SIGKILL"), null))
      })
    )
  )

/**
 * A child for the scope's duration, killed if still running when the scope closes.
 *
 * @since 0.1.0
 */
export const child = (
  args: ReadonlyArray<string>,
  options: SpawnOptions,
  nodeFlags: ReadonlyArray<string> = []
) =>
  Effect.acquireRelease(
    Effect.sync(() => spawn(process.execPath, [...sourceFlags, ...nodeFlags, ...args], options)),
    (c) =>
      c.exitCode === null && c.signalCode === null
        ? Effect.sync(() => c.kill("SIGKILL")).pipe(Effect.andThen(exited(c, "5 seconds")))
        : Effect.void
  )

/**
 * A JSON answer from the simulator's control endpoints.
 *
 * @since 0.1.0
 */
export const json = <A>(url: string, init?: RequestInit) =>
  Effect.promise(() => fetch(url, init).then((r) => r.json() as Promise<A>))
