/**
 * The decode pipeline figure: hitstream's pipeline against the naive one over the same in-memory
 * corpus of gzip chunks, in hits/s and MB/s.
 *
 * @since 0.1.0
 */
import { Dedup } from "@hitstream/core"
import { Effect } from "effect"
import * as Corpus from "./Corpus.ts"
import { time } from "./Measure.ts"
import * as Pipelines from "./Pipelines.ts"
import type { Sizes } from "./Sizes.ts"
import type { Row } from "./Stats.ts"

const decodeParts = 5

/**
 * @since 0.1.0
 */
export const decode = async (sizes: Sizes, log: (s: string) => void): Promise<Array<Row>> => {
  // Five parts, each its own gzip stream with its own ids (seeds differ), taken in turn by the
  // two pipelines, the order alternating part by part: a round is the same 200,000 hits as one
  // pass each, but a slowdown of the shared machine lasting a second or two lands on both sides
  // instead of on whichever ran then (rounds of one pass each swung from 0.72x to 1.38x).
  const parts = Array.from({ length: decodeParts }, (_, i) =>
    Corpus.make(Math.ceil(sizes.decodeHits / decodeParts), { seed: 7 + i })
  )
  const hits = parts.reduce((n, part) => n + part.hits, 0)
  const mb = parts.reduce((n, part) => n + part.uncompressedBytes, 0) / 1e6
  const h: Array<number> = []
  const b: Array<number> = []
  for (let r = 0; r < sizes.rounds; r++) {
    // One dedup window per round, as one process would keep across the whole stream.
    const dedup = new Dedup.Dedup()
    let ours = 0
    let naive = 0
    for (let p = 0; p < parts.length; p++) {
      const chunks = parts[p].chunks
      const runOurs = async () => {
        ours += await time(() => Effect.runPromise(Pipelines.hitstream(chunks, dedup, true)))
      }
      const runNaive = async () => {
        naive += await time(() => Pipelines.naive(chunks))
      }
      if ((r + p) % 2 === 0) {
        await runNaive()
        await runOurs()
      } else {
        await runOurs()
        await runNaive()
      }
    }
    h.push(ours)
    b.push(naive)
    log(
      `decode round ${r + 1}: hitstream ${(hits / h[r]).toFixed(0)} hits/s, naive ${(hits / b[r]).toFixed(0)} hits/s`
    )
  }
  return [
    {
      figure: "decode pipeline",
      unit: "hits/s",
      hitstream: h.map((s) => hits / s),
      baseline: b.map((s) => hits / s),
      better: "higher",
      target: ">= 0.95x",
      note: `${hits} hits a round in ${decodeParts} parts, alternating; 16 KiB gzip chunks; hitstream also keeps exact ids, validates, dedups`
    },
    {
      figure: "decode pipeline",
      unit: "MB/s",
      hitstream: h.map((s) => mb / s),
      baseline: b.map((s) => mb / s),
      better: "higher",
      target: ">= 0.95x",
      note: "uncompressed bytes"
    }
  ]
}
