/**
 * One pipeline's memory run in a process of its own, so that RSS measures that pipeline alone:
 * `node --expose-gc src/MemoryProcess.ts hitstream|naive M1,M2,M3` prints, as JSON, the memory
 * after a warm-up pass and after each milestone of hits.
 *
 * @since 0.1.0
 */
import { Dedup } from "@hitstream/core"
import { Effect } from "effect"
import * as Corpus from "./Corpus.ts"
import * as Pipelines from "./Pipelines.ts"

const which = process.argv[2]
const milestones = (process.argv[3] ?? "100000").split(",").map(Number)
const gc = (globalThis as { gc?: () => void }).gc
const collect = () => {
  gc?.()
  gc?.()
}

const corpus = Corpus.make(Math.min(100_000, milestones[0]))
// One dedup for the whole run, as in a long-lived stream: after the first pass every repeat is a
// duplicate it must recognise, and its memory must not grow.
const dedup = new Dedup.Dedup()
const pass =
  which === "hitstream"
    ? () => Effect.runPromise(Pipelines.hitstream(corpus.chunks, dedup, true))
    : () => Pipelines.naive(corpus.chunks)

await pass()
collect()
const warm = process.memoryUsage()
const at: Array<NodeJS.MemoryUsage> = []
let hits = corpus.hits
for (const milestone of milestones) {
  while (hits < milestone) {
    await pass()
    hits += corpus.hits
  }
  collect()
  at.push(process.memoryUsage())
}
process.stdout.write(`${JSON.stringify({ warm, at, gc: gc !== undefined, dedupBytes: dedup.byteLength })}\n`)
