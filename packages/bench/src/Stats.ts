/**
 * Rounds, medians and the table.
 *
 * @since 0.1.0
 */
import { cpus } from "node:os"

/**
 * One figure: hitstream's and the baseline's value per round, and which way is better.
 *
 * @since 0.1.0
 */
export interface Row {
  readonly figure: string
  readonly unit: string
  readonly hitstream: ReadonlyArray<number>
  readonly baseline: ReadonlyArray<number>
  /** Higher is better (throughput) or lower is better (time, memory). */
  readonly better: "higher" | "lower" | "none"
  readonly target?: string
  readonly note?: string
}

/**
 * @since 0.1.0
 */
export const median = (values: ReadonlyArray<number>): number => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

/** The ratio in the direction where 1.0 is parity and more is better for hitstream. */
const ratios = (row: Row): Array<number> =>
  row.better === "none"
    ? []
    : row.hitstream.map((h, i) => {
        const b = row.baseline[i] ?? Number.NaN
        return row.better === "higher" ? h / b : b / h
      })

const fmt = (n: number) =>
  !Number.isFinite(n)
    ? "-"
    : Math.abs(n) >= 1000
      ? n.toFixed(0)
      : Math.abs(n) >= 10
        ? n.toFixed(1)
        : n.toFixed(3)

/**
 * @since 0.1.0
 */
export const summarise = (row: Row) => {
  const r = ratios(row).filter(Number.isFinite)
  return {
    figure: row.figure,
    unit: row.unit,
    hitstream: median(row.hitstream),
    baseline: row.baseline.length > 0 ? median(row.baseline) : Number.NaN,
    ratio: r.length > 0 ? median(r) : Number.NaN,
    ratioMin: r.length > 0 ? Math.min(...r) : Number.NaN,
    ratioMax: r.length > 0 ? Math.max(...r) : Number.NaN,
    rounds: row.hitstream.length,
    target: row.target ?? "",
    note: row.note ?? ""
  }
}

/**
 * @since 0.1.0
 */
export const environment = () => ({
  node: process.version,
  cpu: cpus()[0]?.model ?? "unknown",
  cores: cpus().length
})

/**
 * The table, one row per figure.
 *
 * @since 0.1.0
 */
export const table = (rows: ReadonlyArray<Row>): string => {
  const env = environment()
  const header = [
    "figure",
    "unit",
    "hitstream",
    "baseline",
    "ratio",
    "rounds",
    "ratio min/median/max",
    "target",
    "note"
  ]
  const body = rows.map((row) => {
    const s = summarise(row)
    return [
      s.figure,
      s.unit,
      fmt(s.hitstream),
      fmt(s.baseline),
      Number.isFinite(s.ratio) ? `${s.ratio.toFixed(2)}x` : "-",
      String(s.rounds),
      Number.isFinite(s.ratio)
        ? `${s.ratioMin.toFixed(2)} / ${s.ratio.toFixed(2)} / ${s.ratioMax.toFixed(2)}`
        : "-",
      s.target,
      s.note
    ]
  })
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)))
  const line = (cells: ReadonlyArray<string>) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(" | ")} |`
  return [
    `node ${env.node}, ${env.cpu}, ${env.cores} cores`,
    "ratio: hitstream relative to the baseline, >1 is better for hitstream (throughput: h/b; time and memory: b/h)",
    "",
    line(header),
    line(widths.map((w) => "-".repeat(w))),
    ...body.map(line)
  ].join("\n")
}
