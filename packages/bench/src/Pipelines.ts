/**
 * The two pipelines compared, over the same chunks: hitstream's (Framing -> Hit -> Dedup) and the
 * naive client most people write (zlib gunzip stream, split on CRLF, `JSON.parse`, nothing else:
 * no validation, no dedup, and the 64-bit ids silently rounded).
 *
 * @since 0.1.0
 */
import { Dedup, Framing, Hit } from "@hitstream/core"
import { Effect, Stream } from "effect"
import { createGunzip } from "node:zlib"

/**
 * Runs hitstream's decode pipeline over the chunks; the hits delivered.
 *
 * @since 0.1.0
 */
export const hitstream = (chunks: ReadonlyArray<Uint8Array>, dedup = new Dedup.Dedup(), oneAtATime = false) =>
  Effect.gen(function* () {
    let count = 0
    // One chunk per pull is how a socket delivers them when the reader keeps up.
    const source = oneAtATime ? Stream.rechunk(Stream.fromIterable(chunks), 1) : Stream.fromIterable(chunks)
    yield* source.pipe(
      Framing.decode,
      Stream.runForEachArray((framed) =>
        Effect.sync(() => {
          for (let i = 0; i < framed.length; i++) {
            const f = framed[i]
            if (!Hit.isMalformed(f) && dedup.admitHit(f)) count++
          }
        })
      )
    )
    return count
  })

/**
 * The naive client's framing and parsing of inflated bytes: split on CRLF, `JSON.parse` each
 * non-empty line, hand the line on. Feed it every inflated chunk, in order.
 *
 * @since 0.1.0
 */
export const naiveRecords = (onRecord: (line: string) => void) => {
  let tail = ""
  return (data: Buffer): void => {
    const lines = (tail + data.toString("utf8")).split("\r\n")
    tail = lines.pop()!
    for (const line of lines) {
      if (line.length === 0) continue
      JSON.parse(line)
      onRecord(line)
    }
  }
}

/**
 * The naive client's decode, as a plain Node stream: resolves with the records parsed.
 *
 * @since 0.1.0
 */
export const naive = (chunks: ReadonlyArray<Uint8Array>): Promise<number> =>
  new Promise((resolve, reject) => {
    const gunzip = createGunzip()
    let count = 0
    gunzip.on(
      "data",
      naiveRecords(() => {
        count++
      })
    )
    gunzip.on("end", () => resolve(count))
    gunzip.on("error", reject)
    let i = 0
    const write = () => {
      while (i < chunks.length) {
        if (!gunzip.write(chunks[i++])) return void gunzip.once("drain", write)
      }
      gunzip.end()
    }
    write()
  })
