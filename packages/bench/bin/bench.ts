#!/usr/bin/env node
// npm run bench [-- --quick | --long | --startup] [--json]
import * as Bench from "../src/Bench.ts"
import * as JetStream from "../src/JetStream.ts"
import * as Startup from "../src/Startup.ts"
import * as Stats from "../src/Stats.ts"

const args = new Set(process.argv.slice(2))
const sizes = args.has("--quick") ? Bench.quick : args.has("--long") ? Bench.long : Bench.full
const json = args.has("--json")
const log = (line: string) => process.stderr.write(`${line}\n`)

const started = performance.now()
const rows: Array<Stats.Row> = []
// Startup first, while nothing else has warmed the machine's caches more than an install would.
rows.push(...(await Startup.startup(args.has("--quick") ? 10 : 20, log)))
const figures = args.has("--startup")
  ? []
  : [Bench.latency, Bench.decode, Bench.endToEnd, Bench.memory, Bench.reconnect, JetStream.jetstream]
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
