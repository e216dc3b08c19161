/**
 * Startup: how long `hitstream --version` takes and how much memory it peaks at, as an installed
 * user runs it (the launcher and the bundle, not the sources), against `node -e 0` timed in the
 * same run as the floor no Node program can beat.
 *
 * @since 0.1.0
 */
import { spawnSync } from "node:child_process"
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import type { Row } from "./Stats.ts"

const launcher = fileURLToPath(new URL("../../cli/src/bin/hitstream.js", import.meta.url))
const bundle = fileURLToPath(new URL("../../cli/dist/bundle/hitstream.js", import.meta.url))

// Peak RSS is read by the measured process itself at exit (`VmHWM`), through a preload module; a
// separate set of runs, so that the preload does not count in the timings.
const peakProbe = `process.on("exit", () => { const m = /VmHWM:\\s+(\\d+)/.exec(require("node:fs").readFileSync("/proc/self/status", "utf8")); require("node:fs").writeFileSync(process.env.HITSTREAM_BENCH_PEAK, m ? m[1] : "0") })`

const time = (args: ReadonlyArray<string>): number => {
  const start = performance.now()
  const result = spawnSync(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] })
  const elapsed = performance.now() - start
  if (result.status !== 0) throw new Error(`${args.join(" ")} exited ${result.status}: ${result.stderr}`)
  return elapsed
}

const peakMiB = (args: ReadonlyArray<string>, dir: string): number => {
  const probe = join(dir, "probe.cjs")
  const out = join(dir, "peak")
  writeFileSync(probe, peakProbe)
  const result = spawnSync(process.execPath, ["--require", probe, ...args], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, HITSTREAM_BENCH_PEAK: out }
  })
  if (result.status !== 0) throw new Error(`${args.join(" ")} exited ${result.status}: ${result.stderr}`)
  return Number(readFileSync(out, "utf8")) / 1024
}

/**
 * The startup rows: `rounds` alternating runs of each (at least 10), after one warm-up run each
 * (the first run after a build fills V8's compile cache, as the first run after an install does).
 *
 * @since 0.1.0
 */
export const startup = async (rounds: number, log: (s: string) => void): Promise<Array<Row>> => {
  if (!existsSync(bundle)) {
    log("startup: skipped, the bundle is not built (npm run build -w @hitstream/cli)")
    return []
  }
  const program = [launcher, "--version"]
  const floor = ["-e", "0"]
  time(program)
  time(floor)
  const ms = { hitstream: [] as Array<number>, baseline: [] as Array<number> }
  const mib = { hitstream: [] as Array<number>, baseline: [] as Array<number> }
  const dir = mkdtempSync(join(tmpdir(), "hitstream-startup-"))
  try {
    for (let i = 0; i < Math.max(10, rounds); i++) {
      ms.hitstream.push(time(program))
      ms.baseline.push(time(floor))
      mib.hitstream.push(peakMiB(program, dir))
      mib.baseline.push(peakMiB(floor, dir))
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
  log("startup: done")
  return [
    {
      figure: "startup: hitstream --version (vs node -e 0)",
      unit: "ms",
      ...ms,
      better: "lower",
      target: "<= 150 ms"
    },
    {
      figure: "startup: peak RSS (vs node -e 0)",
      unit: "MiB",
      ...mib,
      better: "lower",
      target: "<= 90 MiB"
    }
  ]
}
