/**
 * From the bytes of a Live Stream response body to hits.
 *
 * The body is gzip inside chunked transfer encoding; inside the gzip, JSON records separated by
 * CRLF. A socket chunk may hold several records, a record may span chunks, and so may a UTF-8
 * character or the CR and LF of one separator. The stages:
 *
 * - `gunzip`: streaming decompression; a corrupt or truncated gzip stream fails with
 *   `GzipError` after every byte decodable before the fault has been emitted.
 * - `RecordSplitter`: pure and synchronous, uncompressed bytes in, record texts out; empty
 *   records skipped, bare LF tolerated.
 * - `Hit.parse`: one record text to a hit or a `MalformedRecord`.
 *
 * `decode` and `decodeUncompressed` compose them as `Stream` transformations that work per
 * chunk, not per record, so the hot path allocates no Effect per hit.
 *
 * @since 0.1.0
 */
import { Effect, Schema, Stream } from "effect"
import { constants, createGunzip } from "node:zlib"
import * as Hit from "./Hit.ts"

/**
 * The gzip stream inside a response body is corrupt or ends before its trailer. The connection
 * it came from is over; every record completed before the fault has already been emitted.
 *
 * @since 0.1.0
 */
export class GzipError extends Schema.TaggedError<GzipError>()("GzipError", {
  message: Schema.String,
  /** Compressed bytes received before the fault. */
  compressedBytes: Schema.Number
}) {}

/**
 * Splits uncompressed body bytes into record texts. Keeps the incomplete tail of the last chunk
 * until the next one completes it.
 *
 * @since 0.1.0
 */
export class RecordSplitter {
  // `stream: true` keeps a multi-byte character split across chunks until its last byte.
  private readonly decoder = new TextDecoder("utf-8")
  private tail = ""

  /** The records completed by this chunk, in order. */
  push(bytes: Uint8Array): Array<string> {
    const text = this.tail + this.decoder.decode(bytes, { stream: true })
    const out: Array<string> = []
    let start = 0
    let lf: number
    while ((lf = text.indexOf("\n", start)) !== -1) {
      // A CR that arrived at the end of the previous chunk is still in `text`: the pair is
      // whole by now, whatever the chunk boundary.
      const end = lf > start && text.charCodeAt(lf - 1) === 13 ? lf - 1 : lf
      if (end > start) out.push(text.slice(start, end))
      start = lf + 1
    }
    this.tail = start === 0 ? text : text.slice(start)
    return out
  }

  /** The last record when the body ends without a final separator. */
  end(): Array<string> {
    let text = this.tail + this.decoder.decode()
    this.tail = ""
    if (text.charCodeAt(text.length - 1) === 13) text = text.slice(0, -1)
    return text.length > 0 ? [text] : []
  }
}

/**
 * What framing emits: a hit, or a record that is not one (counted and logged by the reader).
 *
 * @since 0.1.0
 */
export type Framed = Hit.Hit | Hit.MalformedRecord

const endOfBody = new Uint8Array(0)

const parseAll = (texts: ReadonlyArray<string>): Array<Framed> => {
  const out: Array<Framed> = new Array(texts.length)
  for (let i = 0; i < texts.length; i++) out[i] = Hit.parse(texts[i])
  return out
}

/**
 * Uncompressed body bytes to hits and malformed records.
 *
 * @since 0.1.0
 */
export const decodeUncompressed = <E, R>(
  self: Stream.Stream<Uint8Array, E, R>
): Stream.Stream<Framed, E, R> =>
  Stream.mapAccumArray(
    // The end marker tells a finished body (its last record may lack a separator) from a
    // failed one (its last record is cut short, and the server re-sends it on reconnect).
    Stream.concat(self, Stream.succeed(endOfBody)),
    () => new RecordSplitter(),
    (splitter, chunk) => {
      const texts: Array<string> = []
      for (let i = 0; i < chunk.length; i++) {
        const records = chunk[i] === endOfBody ? splitter.end() : splitter.push(chunk[i])
        for (let j = 0; j < records.length; j++) texts.push(records[j])
      }
      return [splitter, parseAll(texts)]
    }
  )

const gzipError = (error: unknown, compressedBytes: number) => {
  const message = error instanceof Error ? error.message : String(error)
  return new GzipError({
    message: `the gzip stream is corrupt or truncated: ${message || "invalid data"}`,
    compressedBytes
  })
}

/**
 * An incremental gunzip: compressed chunk in, every byte it completes out.
 *
 * Each batch of chunks is followed by a sync flush, so a record is emitted as soon as its last
 * compressed byte arrives (no waiting for zlib's output buffer to fill) and, when the stream turns out to
 * be truncated or corrupt, everything decodable before the fault has already been returned.
 * The platform's `DecompressionStream` was measured to drop its last buffered output on such a
 * fault, losing up to ~50 records, so this uses `node:zlib` (which Deno and Bun also provide).
 *
 * @since 0.1.0
 */
export class Gunzip {
  private readonly zlib = createGunzip()
  private output: Array<Uint8Array> = []
  private failure: unknown = undefined
  private compressed = 0
  // At most one push or end is in flight: the stream pulls one batch at a time.
  private pending: ((result: Gunzip.Result) => void) | undefined

  constructor() {
    this.zlib.on("data", (chunk: Uint8Array) => this.output.push(chunk))
    this.zlib.on("error", (error) => {
      this.failure ??= error
      this.resolve()
    })
    this.zlib.on("end", () => this.resolve())
  }

  private resolve(): void {
    const pending = this.pending
    this.pending = undefined
    pending?.(this.settle())
  }

  private settle(): Gunzip.Result {
    const output = this.output
    this.output = []
    return {
      output,
      error: this.failure === undefined ? undefined : gzipError(this.failure, this.compressed)
    }
  }

  /** The bytes these chunks complete, and the fault if the data turned out to be bad. */
  push(chunks: ReadonlyArray<Uint8Array>): Promise<Gunzip.Result> {
    if (this.failure !== undefined) return Promise.resolve(this.settle())
    return new Promise((resolve) => {
      this.pending = resolve
      // Every chunk already received, then one flush: one trip to zlib's thread per batch.
      for (let i = 0; i < chunks.length; i++) {
        this.compressed += chunks[i].length
        this.zlib.write(chunks[i])
      }
      this.zlib.flush(constants.Z_SYNC_FLUSH, () => this.resolve())
    })
  }

  /** The end of the body: a fault when the gzip stream stopped before its trailer. */
  end(): Promise<Gunzip.Result> {
    if (this.failure !== undefined) return Promise.resolve(this.settle())
    return new Promise((resolve) => {
      this.pending = resolve
      this.zlib.end()
    })
  }

  close(): void {
    this.zlib.destroy()
  }
}

/**
 * @since 0.1.0
 */
export declare namespace Gunzip {
  /** Decoded bytes, then (when set) the fault that ends the stream after them. */
  export interface Result {
    readonly output: Array<Uint8Array>
    readonly error: GzipError | undefined
  }
}

const batch = 16

const slices = (chunks: ReadonlyArray<Uint8Array>): Array<ReadonlyArray<Uint8Array>> => {
  const out: Array<ReadonlyArray<Uint8Array>> = []
  for (let i = 0; i < chunks.length; i += batch) out.push(chunks.slice(i, i + batch))
  return out
}

const emit = (result: Gunzip.Result): Stream.Stream<Uint8Array, GzipError> => {
  const output = Stream.fromArray(result.output)
  return result.error === undefined ? output : Stream.concat(output, Stream.fail(result.error))
}

/**
 * Streaming gunzip. A corrupt or truncated gzip stream fails with `GzipError`, after every byte
 * decodable before the fault has been emitted.
 *
 * @since 0.1.0
 */
export const gunzip = <E, R>(
  self: Stream.Stream<Uint8Array, E, R>
): Stream.Stream<Uint8Array, E | GzipError, R> =>
  Stream.unwrap(
    Effect.acquireRelease(
      Effect.sync(() => new Gunzip()),
      (g) => Effect.sync(() => g.close())
    ).pipe(
      Effect.map((g) =>
        self.pipe(
          Stream.chunks,
          // Chunks that arrived together are inflated together, a bounded batch at a time.
          Stream.flatMap((chunks) =>
            chunks.length <= batch ? Stream.succeed(chunks) : Stream.fromIterable(slices(chunks))
          ),
          Stream.concat(Stream.succeed(undefined)),
          Stream.flatMap((chunks) =>
            Stream.unwrap(
              Effect.map(
                Effect.promise(() => (chunks === undefined ? g.end() : g.push(chunks))),
                emit
              )
            )
          )
        )
      )
    )
  )

/**
 * A response body, as received, to hits and malformed records.
 *
 * @since 0.1.0
 */
export const decode = <E, R>(
  self: Stream.Stream<Uint8Array, E, R>
): Stream.Stream<Framed, E | GzipError, R> => decodeUncompressed(gunzip(self))
