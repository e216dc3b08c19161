/**
 * The memory figures: heap growth and RSS at each milestone, each pipeline in a process of its
 * own, and the dedup window's bytes per remembered hit against a Set of strings.
 *
 * @since 0.1.0
 */
import { Dedup } from "@hitstream/core"
import { HitGenerator } from "@hitstream/simulator"
import { spawn } from "node:child_process"
import { fileURLToPath } from "node:url"
import { collect, gc } from "./Measure.ts"
import type { Sizes } from "./Sizes.ts"
import type { Row } from "./Stats.ts"

interface MemoryResult {
  readonly warm: NodeJS.MemoryUsage
  readonly at: Array<NodeJS.MemoryUsage>
  readonly gc: boolean
  readonly dedupBytes: number
}

const memoryRun = (pipeline: "hitstream" | "naive", milestones: ReadonlyArray<number>) =>
  new Promise<MemoryResult>((resolve, reject) => {
    const script = fileURLToPath(new URL("./MemoryProcess.ts", import.meta.url))
    const child = spawn(
      process.execPath,
      [
        ...process.execArgv.filter((a) => a.startsWith("--conditions")),
        "--expose-gc",
        script,
        pipeline,
        milestones.join(",")
      ],
      {
        stdio: ["ignore", "pipe", "inherit"]
      }
    )
    let out = ""
    child.stdout!.setEncoding("utf8")
    child.stdout!.on("data", (d: string) => (out += d))
    child.on("close", (code) =>
      code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`memory run of ${pipeline} exited ${code}`))
    )
  })

/**
 * @since 0.1.0
 */
export const memory = async (sizes: Sizes, log: (s: string) => void): Promise<Array<Row>> => {
  const h = await memoryRun("hitstream", sizes.memoryMilestones)
  const b = await memoryRun("naive", sizes.memoryMilestones)
  const mb = (n: number) => n / 1024 / 1024
  const rows: Array<Row> = sizes.memoryMilestones.flatMap((milestone, i) => [
    {
      figure: `heap growth after warm-up, at ${milestone.toLocaleString("en")} hits`,
      unit: "MB",
      hitstream: [mb(h.at[i].heapUsed - h.warm.heapUsed)],
      baseline: [mb(b.at[i].heapUsed - b.warm.heapUsed)],
      better: "none",
      target: "< 10 MB",
      note: h.gc
        ? "after gc, each pipeline in its own process; a ratio of near-zero growths means nothing"
        : "no --expose-gc: includes garbage"
    },
    {
      figure: `RSS at ${milestone.toLocaleString("en")} hits`,
      unit: "MB",
      hitstream: [mb(h.at[i].rss)],
      baseline: [mb(b.at[i].rss)],
      better: "lower",
      note: `each pipeline in its own process; hitstream's includes its 1M-hit dedup window (${mb(h.dedupBytes).toFixed(0)} MB)`
    }
  ])
  log(`memory: done (${sizes.memoryMilestones.join(", ")} hits)`)

  // The dedup structure against a Set of "high:low" strings, both holding 1M ids.
  const capacity = 1_000_000
  const ids = Array.from({ length: capacity }, (_, n) => HitGenerator.idsOf(3, n))
  collect()
  const before = process.memoryUsage().heapUsed
  const set = new Set<string>()
  for (const id of ids) set.add(`${id.hitIdHigh}:${id.hitIdLow}`)
  collect()
  const setBytes = process.memoryUsage().heapUsed - before
  const window = new Dedup.Dedup(capacity)
  for (const id of ids) window.admit(BigInt(id.hitIdHigh), BigInt(id.hitIdLow))
  rows.push({
    figure: "dedup bytes per remembered hit (1M)",
    unit: "B",
    hitstream: [window.byteLength / capacity],
    baseline: [setBytes / set.size],
    better: "lower",
    target: "<= 32 B",
    note: gc ? "baseline: Set of strings, measured after gc" : "baseline approximate without --expose-gc"
  })
  return rows
}
