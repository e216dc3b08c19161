#!/usr/bin/env node
// npm run bench [-- --quick | --long | --startup | --soak [--soak-duration 2m]] [--only latency,decode,...] [--json]
import { Config } from "@hitstream/core"
import { Duration, Effect, Option } from "effect"
import * as Bench from "../src/Bench.ts"
import * as JetStream from "../src/JetStream.ts"
import * as Soak from "../src/Soak.ts"
import * as Startup from "../src/Startup.ts"
import * as Stats from "../src/Stats.ts"

const argv = process.argv.slice(2)
const args = new Set(argv)
const sizes = args.has("--quick") ? Bench.quick : args.has("--long") ? Bench.long : Bench.full
const json = args.has("--json")
const log = (line: string) => process.stderr.write(`${line}\n`)

// The soak runs alone (10 minutes by default): it measures one process's memory over time.
if (args.has("--soak")) {
  const i = argv.indexOf("--soak-duration")
  const duration =
    i >= 0
      ? Config.parseDuration(argv[i + 1] ?? "")
      : Option.some(Duration.seconds(Soak.defaults.durationSeconds))
  if (Option.isNone(duration)) {
    process.stderr.write(`--soak-duration ${argv[i + 1] ?? ""}: write it like 10m, 120s\n`)
    process.exit(2)
  }
  const options = { ...Soak.defaults, durationSeconds: Duration.toSeconds(duration.value) }
  log(
    `soak: ${options.durationSeconds} s at ${options.rate} hits/s, a drop every ${options.dropEverySeconds} s`
  )
  const result = await Effect.runPromise(Soak.run(options, log))
  const { rssSamples, ...summary } = result
  if (json) {
    process.stdout.write(
      `${JSON.stringify({ environment: Stats.environment(), ...summary, rssSamples }, null, 2)}\n`
    )
  } else {
    process.stdout.write(`${Stats.table(Soak.rows(result))}\n`)
    log(
      `soak: RSS every 30 s (MB): ${rssSamples
        .filter((s) => s.second % 30 === 0)
        .map((s) => s.rssMb.toFixed(0))
        .join(" ")}`
    )
  }
  log(result.passed ? "soak: passed" : "soak: FAILED")
  process.exit(result.passed ? 0 : 1)
}

// `--only latency,wholeProcess` runs those figures alone (startup included only when named).
const onlyAt = argv.indexOf("--only")
const only = onlyAt === -1 ? undefined : new Set((argv[onlyAt + 1] ?? "").split(","))
const started = performance.now()
const rows: Array<Stats.Row> = []
// Startup first, while nothing else has warmed the machine's caches more than an install would.
if (only === undefined || only.has("startup"))
  rows.push(...(await Startup.startup(args.has("--quick") ? 10 : 20, log)))
const all = args.has("--startup")
  ? []
  : [
      Bench.latency,
      Bench.decode,
      Bench.endToEnd,
      Bench.wholeProcess,
      Bench.memory,
      Bench.reconnect,
      Bench.simulatorRate,
      JetStream.jetstream
    ]
const figures = only === undefined ? all : all.filter((figure) => only.has(figure.name))
// Latency first, on a small fresh heap: later figures grow it, and a big heap's GC pauses would
// show as p99 spikes that say more about the benchmark than about either pipeline.
for (const figure of figures) {
  rows.push(...(await figure(sizes, log)))
}
log(`done in ${((performance.now() - started) / 1000).toFixed(0)} s`)
if (json) {
  process.stdout.write(
    `${JSON.stringify({ environment: Stats.environment(), rows: rows.map(Stats.summarise), raw: rows }, null, 2)}\n`
  )
} else {
  process.stdout.write(`${Stats.table(rows)}\n`)
}
process.exit(0)
