/**
 * A 200 stream's gzip body, built batch by batch: one gzip member whose deflate data comes from a
 * single raw-deflate context kept for the whole connection. Each batch ends in a sync flush
 * (byte-aligned, no final block), so its compressed bytes can be written, and the batch counted,
 * as soon as they come back; the trailer (an empty final block, CRC-32 and size) ends the member
 * on a clean end.
 *
 * One context per connection rather than one per batch: setting up a deflate context (about
 * 300 KB of tables and window, and its output buffer) for every batch cost as much as compressing
 * it, and a kept window also compresses a little better (the window spans batches). The
 * compression runs on libuv's thread pool, overlapping the next batch's generation.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import { constants, crc32, createDeflateRaw, type DeflateRaw, deflateRaw } from "node:zlib"

/**
 * @since 0.1.0
 */
export interface GzipBody {
  /**
   * Compresses `bytes` after everything given before, and calls `done` with their compressed
   * bytes (in order, each batch's complete up to its sync flush), or with the error.
   */
  readonly compress: (bytes: Buffer, done: (out: Buffer | Error) => void) => void
  /** `bytes` preceded by the gzip header if nothing was framed before. */
  readonly framed: (bytes: Buffer) => Buffer
  /** The end of the member: an empty final block, then CRC-32 and size (if `trailing`). */
  readonly trailer: () => Buffer
  /** A flush point then part of a block: what a body cut mid-gzip ends with (framed). */
  readonly truncated: Effect.Effect<Buffer>
  /** Frees the deflate context. */
  readonly close: () => void
}

// The end of a sync flush: an empty stored block, `00 00 ff ff`.
const syncMarker = Buffer.from([0, 0, 0xff, 0xff])

/**
 * @since 0.1.0
 */
export const make = (options: {
  readonly level: number
  /** Count CRC-32 and size for a trailer (only a clean end needs them). */
  readonly trailing: boolean
  /** The output buffer's size: room for a whole batch's compressed bytes in one trip. */
  readonly chunkSize: number
}): GzipBody => {
  const { level, trailing } = options
  // XFL: 4 for the fastest level, 2 for the best; OS 3 (Unix).
  const header = Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, level === 1 ? 4 : level === 9 ? 2 : 0, 3])
  let headerSent = false
  const framed = (bytes: Buffer) => {
    if (headerSent) return bytes
    headerSent = true
    return Buffer.concat([header, bytes])
  }
  let crc = 0
  let size = 0

  // Every write ends in a sync flush. Node emits a write's output ('data') before it calls the
  // write's callback; the check on the sync marker makes sure of it, since a batch is counted as
  // sent once its bytes are written.
  let deflate: DeflateRaw | undefined
  let output: Array<Buffer> = []
  let failure: Error | undefined
  // Made on the first batch: a preloaded body or a fault at once never needs one.
  const context = () => {
    if (deflate !== undefined) return deflate
    deflate = createDeflateRaw({ level, flush: constants.Z_SYNC_FLUSH, chunkSize: options.chunkSize })
    deflate.on("data", (chunk: Buffer) => output.push(chunk))
    deflate.on("error", (error) => (failure = error))
    return deflate
  }

  const compress = (bytes: Buffer, done: (out: Buffer | Error) => void) => {
    if (trailing) {
      crc = crc32(bytes, crc)
      size = (size + bytes.length) >>> 0
    }
    context().write(bytes, (error) => {
      const parts = output
      output = []
      if (error ?? failure) return done((error ?? failure)!)
      const out = parts.length === 1 ? parts[0] : Buffer.concat(parts)
      // Nothing new to flush (no input) gives no output, which is complete too.
      if (bytes.length > 0 && (out.length < 4 || !out.subarray(out.length - 4).equals(syncMarker))) {
        return done(
          new Error("a batch's compressed bytes did not end in a sync flush by its write's callback")
        )
      }
      done(out)
    })
  }

  const trailer = () => {
    const tail = Buffer.alloc(10)
    // An empty final block (fixed Huffman), then CRC-32 and size, little-endian.
    tail[0] = 0x03
    tail.writeUInt32LE(crc >>> 0, 2)
    tail.writeUInt32LE(size, 6)
    return framed(tail)
  }

  // A context of its own: it starts with no history, which is valid after a sync flush.
  const truncated = Effect.map(
    Effect.callback<Buffer>((resume) =>
      deflateRaw(
        Buffer.from('{"pageName":"cut'),
        { level, finishFlush: constants.Z_FULL_FLUSH },
        (error, out) => resume(error === null ? Effect.succeed(out) : Effect.die(error))
      )
    ),
    framed
  )

  return { compress, framed, trailer, truncated, close: () => deflate?.destroy() }
}
