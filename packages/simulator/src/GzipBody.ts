/**
 * A 200 stream's gzip body, built batch by batch: one gzip member whose deflate data is the
 * batches' compressed bytes, each ending in a full flush (byte-aligned, no final block, no
 * reference to earlier data), so a batch can be written, and counted, as soon as it comes back;
 * the trailer (an empty final block, CRC-32 and size) ends the member on a clean end.
 *
 * Deflate contexts are kept for the connection, a few of them compressing batches at once on
 * libuv's thread pool while the next batch is generated: setting up a context (about 300 KB of
 * tables and window, and its output buffer) for every batch cost as much as compressing it, and
 * one context alone was the stream's bottleneck. A full flush every ~1 MB of records costs a
 * fraction of a percent of the compression ratio.
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
   * Compresses `bytes` and calls `done` with their compressed bytes (complete, up to a flush
   * point), or with the error. Batches may complete out of order; their bytes can be written in
   * any order after the header, and are written in the order given to keep the records in order.
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

// The end of a sync or full flush: an empty stored block, `00 00 ff ff`.
const flushMarker = Buffer.from([0, 0, 0xff, 0xff])

/**
 * @since 0.1.0
 */
export const make = (options: {
  readonly level: number
  /** Count CRC-32 and size for a trailer (only a clean end needs them). */
  readonly trailing: boolean
  /** The output buffer's size: room for a whole batch's compressed bytes in one trip. */
  readonly chunkSize: number
  /** How many batches compress at once (on libuv's thread pool), each in a context of its own. */
  readonly contexts: number
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

  // Each context compresses one batch at a time, ending it with a full flush: byte-aligned, and
  // with no reference to earlier data, so batches from different contexts concatenate in any
  // order they are written (as pigz's blocks do). Node emits a write's output ('data') before it
  // calls the write's callback; the check on the flush marker makes sure of it, since a batch is
  // counted as sent once its bytes are written.
  interface Context {
    readonly deflate: DeflateRaw
    output: Array<Buffer>
    failure: Error | undefined
    busy: boolean
  }
  const contexts: Array<Context> = []
  const waiting: Array<readonly [Buffer, (out: Buffer | Error) => void]> = []
  // Made when needed: a preloaded body or a fault at once never needs one.
  const idle = () => {
    const free = contexts.find((c) => !c.busy)
    if (free !== undefined || contexts.length >= options.contexts) return free
    const deflate = createDeflateRaw({ level, flush: constants.Z_FULL_FLUSH, chunkSize: options.chunkSize })
    const context: Context = { deflate, output: [], failure: undefined, busy: false }
    deflate.on("data", (chunk: Buffer) => context.output.push(chunk))
    deflate.on("error", (error) => (context.failure = error))
    contexts.push(context)
    return context
  }
  const run = (context: Context, bytes: Buffer, done: (out: Buffer | Error) => void) => {
    context.busy = true
    context.deflate.write(bytes, (error) => {
      const parts = context.output
      context.output = []
      context.busy = false
      const next = waiting.shift()
      if (next !== undefined) run(context, ...next)
      const failure = error ?? context.failure
      if (failure) return done(failure)
      const out = parts.length === 1 ? parts[0] : Buffer.concat(parts)
      // Nothing new to flush (no input) gives no output, which is complete too.
      if (bytes.length > 0 && (out.length < 4 || !out.subarray(out.length - 4).equals(flushMarker))) {
        return done(new Error("a batch's compressed bytes did not end in a flush by its write's callback"))
      }
      done(out)
    })
  }

  const compress = (bytes: Buffer, done: (out: Buffer | Error) => void) => {
    if (trailing) {
      crc = crc32(bytes, crc)
      size = (size + bytes.length) >>> 0
    }
    const context = idle()
    if (context === undefined) waiting.push([bytes, done])
    else run(context, bytes, done)
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

  return { compress, framed, trailer, truncated, close: () => contexts.forEach((c) => c.deflate.destroy()) }
}
