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
  // Written straight into one buffer, off the JavaScript heap: joining the texts first made a
  // string of hundreds of megabytes, and a heap grown to a gigabyte before the first round set
  // the collector's limits for every round after it (a dozen full collections a round).
  let text = Buffer.allocUnsafe(hits * 2_200 + 64)
  let length = 0
  for (let n = 0; n < hits; n++) {
    const record = HitGenerator.generate(seed, n, 1_764_000_000 + Math.floor(n / 1000)).text
    const separator = n % 97 === 0 ? "\r\n\r\n" : "\r\n"
    const needed = length + Buffer.byteLength(record) + separator.length
    if (needed > text.length) {
      const grown = Buffer.allocUnsafe(Math.max(needed, text.length * 2))
      text.copy(grown, 0, 0, length)
      text = grown
    }
    length += text.write(record, length)
    length += text.write(separator, length, "latin1")
  }
  text = text.subarray(0, length)
  const gz = gzipSync(text)
  const chunks: Array<Uint8Array> = []
  for (let offset = 0; offset < gz.length; offset += chunkSize)
    chunks.push(gz.subarray(offset, offset + chunkSize))
  return { hits, uncompressedBytes: text.length, chunks }
}
