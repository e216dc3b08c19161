/**
 * The whole-process figures: `hitstream run` as users start it against the naive script, startup
 * included, and two slots against one.
 *
 * @since 0.1.0
 */
import { spawn } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import * as Bundle from "./Bundle.ts"
import { type SimulatorEndpoint, startSimulator } from "./Loopback.ts"
import { now } from "./Measure.ts"
import type { Sizes } from "./Sizes.ts"
import type { Row } from "./Stats.ts"

/** How `hitstream` is started: as users start it, the launcher and the built bundle. */
const program = (): ReadonlyArray<string> => [Bundle.launcher]

/** Runs a program to its exit, reading its stdout as a pipe would; seconds and lines written. */
const runProcess = (args: ReadonlyArray<string>, env: Record<string, string>) =>
  new Promise<{ readonly seconds: number; readonly lines: number }>((resolve, reject) => {
    const start = now()
    const child = spawn(process.execPath, args, {
      env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", ...env },
      stdio: ["ignore", "pipe", "pipe"]
    })
    let lines = 0
    let stderr = ""
    child.stdout!.on("data", (d: Buffer) => {
      for (let i = d.indexOf(10); i !== -1; i = d.indexOf(10, i + 1)) lines++
    })
    child.stderr!.on("data", (d) => (stderr = (stderr + d).slice(-2000)))
    child.on("error", reject)
    child.on("close", (code) =>
      code === 0
        ? resolve({ seconds: (now() - start) / 1000, lines })
        : reject(new Error(`${args.join(" ")} exited ${code}: ${stderr}`))
    )
  })

const hitstreamRun = (sim: SimulatorEndpoint, hits: number, dir: string, extra: ReadonlyArray<string> = []) =>
  runProcess(
    [
      ...program(),
      "run",
      "--url",
      sim.url,
      "--client-id",
      sim.clientId,
      "--token-url",
      sim.tokenUrl,
      "--limit",
      String(hits),
      "--sink",
      "stdout",
      "--min-reconnect-delay",
      "1s",
      "--state-dir",
      mkdtempSync(join(dir, "state-")),
      ...extra
    ],
    { HITSTREAM_CLIENT_SECRET: sim.clientSecret }
  )

const naiveRun = (sim: SimulatorEndpoint, hits: number) =>
  runProcess(
    [
      fileURLToPath(new URL("./NaiveProcess.ts", import.meta.url)),
      sim.url,
      sim.tokenUrl,
      sim.clientId,
      String(hits)
    ],
    { HITSTREAM_CLIENT_SECRET: sim.clientSecret }
  )

const checkLines = (what: string, got: number, hits: number) => {
  if (got !== hits) throw new Error(`${what} wrote ${got} lines, expected ${hits}`)
}

/**
 * The whole program, startup included: `hitstream run --limit N --sink stdout` against the naive
 * script, alternating (A B A B) against one simulator process; and `--connections 2` against one
 * slot.
 *
 * @since 0.1.0
 */
export const wholeProcess = async (sizes: Sizes, log: (s: string) => void): Promise<Array<Row>> => {
  const hits = sizes.e2eHits * 2
  const sim = await startSimulator(hits)
  const dir = mkdtempSync(join(tmpdir(), "hitstream-bench-process-"))
  log(`whole process: ${Bundle.ensure()}`)
  try {
    const h: Array<number> = []
    const b: Array<number> = []
    for (let r = 0; r < sizes.rounds; r++) {
      const naive = await naiveRun(sim, hits)
      checkLines("the naive script", naive.lines, hits)
      b.push(hits / naive.seconds)
      const ours = await hitstreamRun(sim, hits, dir)
      checkLines("hitstream run", ours.lines, hits)
      h.push(hits / ours.seconds)
      log(
        `whole process round ${r + 1}: hitstream ${h[r].toFixed(0)} hits/s, naive ${b[r].toFixed(0)} hits/s`
      )
    }
    const one: Array<number> = []
    const two: Array<number> = []
    for (let r = 0; r < sizes.rounds; r++) {
      const single = await hitstreamRun(sim, hits, dir, ["--max-connections", "2", "--connections", "1"])
      checkLines("hitstream run --connections 1", single.lines, hits)
      one.push(hits / single.seconds)
      const double = await hitstreamRun(sim, hits, dir, ["--max-connections", "2", "--connections", "2"])
      checkLines("hitstream run --connections 2", double.lines, hits)
      two.push(hits / double.seconds)
      log(`slots round ${r + 1}: 2 slots ${two[r].toFixed(0)} hits/s, 1 slot ${one[r].toFixed(0)} hits/s`)
    }
    return [
      {
        figure: "whole process, run --sink stdout",
        unit: "hits/s",
        hitstream: h,
        baseline: b,
        better: "higher",
        target: ">= 0.9x",
        note: `${hits} hits, startup included; hitstream: the launcher and the bundle; baseline: NaiveProcess.ts (token, redirects, gunzip, CRLF, JSON.parse, raw lines); alternating`
      },
      {
        figure: "2 slots vs 1 slot (baseline: 1 slot)",
        unit: "hits/s",
        hitstream: two,
        baseline: one,
        better: "higher",
        target: ">= 1.5x",
        note: `hitstream run --max-connections 2, --connections 2 against --connections 1; ${hits} hits to stdout`
      }
    ]
  } finally {
    sim.stop()
    rmSync(dir, { recursive: true, force: true })
  }
}
