/**
 * The benchmark corpus: deterministic, realistic hits from the simulator's generator (about
 * 2 KB each, nested objects, non-ASCII text, ids above 2^53), CRLF-separated with about 1% empty
 * records, gzipped once, and cut into the 16 KiB chunks a socket delivers.
 *
 * @since 0.1.0
 */
import { HitGenerator } from "@hitstream/simulator"
import { gzipSync } from "node:zlib"

/**
 * @since 0.1.0
 */
export interface Corpus {
  readonly hits: number
  readonly uncompressedBytes: number
  readonly chunks: ReadonlyArray<Uint8Array>
}

/**
 * @since 0.1.0
 */
export const make = (
  hits: number,
  options: { readonly seed?: number; readonly chunkSize?: number } = {}
): Corpus => {
  const seed = options.seed ?? 7
  const chunkSize = options.chunkSize ?? 16_384
  const parts: Array<string> = []
  for (let n = 0; n < hits; n++) {
    parts.push(HitGenerator.generate(seed, n, 1_764_000_000 + Math.floor(n / 1000)).text, "\r\n")
    if (n % 97 === 0) parts.push("\r\n")
  }
  const text = Buffer.from(parts.join(""))
  const gz = gzipSync(text)
  const chunks: Array<Uint8Array> = []
  for (let offset = 0; offset < gz.length; offset += chunkSize)
    chunks.push(gz.subarray(offset, offset + chunkSize))
  return { hits, uncompressedBytes: text.length, chunks }
}
