/**
 * Startup: how long `hitstream --version` takes and how much memory it peaks at, as an installed
 * user runs it (the launcher and the bundle, not the sources), against `node -e 0` timed in the
 * same run as the floor no Node program can beat.
 *
 * @since 0.1.0
 */
import { spawnSync } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as Bundle from "./Bundle.ts"
import type { Row } from "./Stats.ts"

// Peak RSS is read by the measured process itself at exit (`VmHWM`), through a preload module; a
// separate set of runs, so that the preload does not count in the timings.
const peakProbe = `process.on("exit", () => { const m = /VmHWM:\\s+(\\d+)/.exec(require("node:fs").readFileSync("/proc/self/status", "utf8")); require("node:fs").writeFileSync(process.env.HITSTREAM_BENCH_PEAK, m ? m[1] : "0") })`

// The runs are timed from a small Node process of their own, as a shell would start them: forking
// from this one, which holds the whole bench, costs ~15 ms a spawn, counted against both sides.
const timer = `
const { spawnSync } = require("node:child_process")
const { rounds, program, floor } = JSON.parse(process.argv[2])
const time = (args) => {
  const start = performance.now()
  const result = spawnSync(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] })
  const elapsed = performance.now() - start
  if (result.status !== 0) throw new Error(args.join(" ") + " exited " + result.status + ": " + result.stderr)
  return elapsed
}
// One warm-up run each: the first run after a build fills V8's compile cache, as the first run
// after an install does.
time(program)
time(floor)
const out = { hitstream: [], baseline: [] }
for (let i = 0; i < rounds; i++) {
  out.hitstream.push(time(program))
  out.baseline.push(time(floor))
}
process.stdout.write(JSON.stringify(out))
`

const timed = (
  rounds: number,
  program: ReadonlyArray<string>,
  floor: ReadonlyArray<string>,
  dir: string
): { readonly hitstream: Array<number>; readonly baseline: Array<number> } => {
  const script = join(dir, "timer.cjs")
  writeFileSync(script, timer)
  const result = spawnSync(process.execPath, [script, JSON.stringify({ rounds, program, floor })], {
    stdio: ["ignore", "pipe", "pipe"],
    encoding: "utf8"
  })
  if (result.status !== 0) throw new Error(`the startup timer failed: ${result.stderr}`)
  return JSON.parse(result.stdout)
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
  // The program as built from the sources now, as the whole-process rows run it.
  log(`startup: ${Bundle.ensure()}`)
  const program = [Bundle.launcher, "--version"]
  const floor = ["-e", "0"]
  const dir = mkdtempSync(join(tmpdir(), "hitstream-startup-"))
  try {
    const n = Math.max(10, rounds)
    const ms = timed(n, program, floor, dir)
    const mib = { hitstream: [] as Array<number>, baseline: [] as Array<number> }
    for (let i = 0; i < n; i++) {
      mib.hitstream.push(peakMiB(program, dir))
      mib.baseline.push(peakMiB(floor, dir))
    }
    return rows(ms, mib, log)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

const rows = (
  ms: { readonly hitstream: Array<number>; readonly baseline: Array<number> },
  mib: { readonly hitstream: Array<number>; readonly baseline: Array<number> },
  log: (s: string) => void
): Array<Row> => {
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
