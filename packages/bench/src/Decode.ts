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

/**
 * @since 0.1.0
 */
export const decode = async (sizes: Sizes, log: (s: string) => void): Promise<Array<Row>> => {
  const corpus = Corpus.make(sizes.decodeHits)
  const mb = corpus.uncompressedBytes / 1e6
  const h: Array<number> = []
  const b: Array<number> = []
  for (let r = 0; r < sizes.rounds; r++) {
    b.push(await time(() => Pipelines.naive(corpus.chunks)))
    h.push(await time(() => Effect.runPromise(Pipelines.hitstream(corpus.chunks, new Dedup.Dedup(), true))))
    log(
      `decode round ${r + 1}: hitstream ${(sizes.decodeHits / h[r]).toFixed(0)} hits/s, naive ${(sizes.decodeHits / b[r]).toFixed(0)} hits/s`
    )
  }
  return [
    {
      figure: "decode pipeline",
      unit: "hits/s",
      hitstream: h.map((s) => sizes.decodeHits / s),
      baseline: b.map((s) => sizes.decodeHits / s),
      better: "higher",
      target: ">= 0.95x",
      note: `${sizes.decodeHits} hits, 16 KiB gzip chunks; hitstream also keeps exact ids, validates, dedups`
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
