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
 * The default limit on one record's length: 1 MiB. Live Stream hits are a few KB; a record far
 * longer is a broken or hostile server, and holding it would let one record take the memory.
 *
 * @since 0.1.0
 */
export const defaultMaxRecordBytes = 1024 * 1024

const previewLength = 120

// UTF-8 length of decoded text. Only called for records near the limit: below a third of it in
// UTF-16 units a record is under the limit whatever its characters.
const utf8Length = (text: string): number => {
  let bytes = 0
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    bytes += c < 0x80 ? 1 : c < 0x800 || (c >= 0xd800 && c <= 0xdfff) ? 2 : 3
  }
  return bytes
}

/**
 * What the splitter emits: a record's text, or a record skipped for its length.
 *
 * @since 0.1.0
 */
export type Split = string | Hit.MalformedRecord

/**
 * Splits uncompressed body bytes into record texts. Keeps the incomplete tail of the last chunk
 * until the next one completes it.
 *
 * A record longer than `maxRecordBytes` is skipped as it streams in: once its received part is
 * past the limit, its bytes are counted and dropped up to the next line feed, and a
 * `MalformedRecord` with reason `TooLong` and its size stands in its place. Memory is bounded by
 * the limit, not by the record; the records after it come through as usual.
 *
 * @since 0.1.0
 */
export class RecordSplitter {
  // `stream: true` keeps a multi-byte character split across chunks until its last byte.
  private decoder = new TextDecoder("utf-8")
  private tail = ""
  /** Bytes of the incomplete record received so far (a trailing CR included). */
  private tailBytes = 0
  /** Bytes of the over-long record being skipped, or -1 when not skipping. */
  private skipped = -1
  private skippedPreview = ""
  private lastWasCr = false

  readonly maxRecordBytes: number

  constructor(maxRecordBytes: number = defaultMaxRecordBytes) {
    this.maxRecordBytes = maxRecordBytes
  }

  /** The records completed by this chunk, in order. */
  push(bytes: Uint8Array): Array<Split> {
    const out: Array<Split> = []
    this.pushInto(bytes, out)
    return out
  }

  /** The last record when the body ends without a final separator. */
  end(): Array<Split> {
    const out: Array<Split> = []
    this.endInto(out)
    return out
  }

  /** `push`, appending to `out`. */
  pushInto(bytes: Uint8Array, out: Array<Split>): void {
    if (bytes.length === 0) return
    if (this.skipped >= 0) {
      const lf = bytes.indexOf(10)
      if (lf === -1) {
        this.skipped += bytes.length
        this.lastWasCr = bytes[bytes.length - 1] === 13
        return
      }
      const cr = lf > 0 ? bytes[lf - 1] === 13 : this.lastWasCr
      out.push(this.tooLong(this.skipped + lf - (cr ? 1 : 0), this.skippedPreview))
      this.skipped = -1
      this.skippedPreview = ""
      if (lf + 1 === bytes.length) return
      bytes = bytes.subarray(lf + 1)
    }
    const max = this.maxRecordBytes
    // No line feed, and already too long with this chunk: start skipping without decoding it.
    if (this.tailBytes + bytes.length > max + 1 && bytes.indexOf(10) === -1) {
      this.tailBytes += bytes.length
      this.startSkipping(bytes, false)
      return
    }
    const decoded = this.decoder.decode(bytes, { stream: true })
    let lf = decoded.indexOf("\n")
    if (lf === -1) {
      this.tail += decoded
      this.tailBytes += bytes.length
      if (this.tailBytes > max + 1) this.startSkipping(bytes, true)
      return
    }
    // The first record completes the tail. A CR that ended the previous chunk is in the tail:
    // the pair is whole by now, whatever the chunk boundary.
    let record = this.tail + decoded.slice(0, lf)
    if (record.charCodeAt(record.length - 1) === 13) record = record.slice(0, -1)
    if (record.length > 0) out.push(this.check(record))
    let start = lf + 1
    while ((lf = decoded.indexOf("\n", start)) !== -1) {
      const end = lf > start && decoded.charCodeAt(lf - 1) === 13 ? lf - 1 : lf
      if (end > start) out.push(this.check(decoded.slice(start, end)))
      start = lf + 1
    }
    this.tail = start === decoded.length ? "" : decoded.slice(start)
    this.tailBytes = bytes.length - (bytes.lastIndexOf(10) + 1)
    if (this.tailBytes > max + 1) this.startSkipping(bytes, true)
  }

  /** `end`, appending to `out`. */
  endInto(out: Array<Split>): void {
    if (this.skipped >= 0) {
      out.push(this.tooLong(this.skipped - (this.lastWasCr ? 1 : 0), this.skippedPreview))
      this.skipped = -1
      this.skippedPreview = ""
      this.decoder = new TextDecoder("utf-8")
      return
    }
    let text = this.tail + this.decoder.decode()
    this.tail = ""
    this.tailBytes = 0
    if (text.charCodeAt(text.length - 1) === 13) text = text.slice(0, -1)
    if (text.length > 0) out.push(this.check(text))
  }

  private startSkipping(bytes: Uint8Array, inTail: boolean): void {
    this.skipped = this.tailBytes
    this.skippedPreview =
      inTail || this.tail.length >= previewLength
        ? this.tail.slice(0, previewLength)
        : (this.tail + new TextDecoder().decode(bytes.subarray(0, previewLength))).slice(0, previewLength)
    this.lastWasCr = bytes[bytes.length - 1] === 13
    this.tail = ""
    this.tailBytes = 0
    // Whatever partial character the decoder held belongs to the skipped record.
    this.decoder = new TextDecoder("utf-8")
  }

  private check(record: string): Split {
    const max = this.maxRecordBytes
    if (record.length * 3 <= max) return record
    const bytes = utf8Length(record)
    return bytes > max ? this.tooLong(bytes, record.slice(0, previewLength)) : record
  }

  private tooLong(bytes: number, preview: string): Hit.MalformedRecord {
    return new Hit.MalformedRecord({
      reason: "TooLong",
      message: `a record of ${bytes} bytes is longer than maxRecordBytes (${this.maxRecordBytes}); it was skipped`,
      preview: preview.length === previewLength ? preview + "…" : preview,
      length: bytes
    })
  }
}

/**
 * What framing emits: a hit, or a record that is not one (counted and logged by the reader).
 *
 * @since 0.1.0
 */
export type Framed = Hit.Hit | Hit.MalformedRecord

/**
 * Framing options. `maxRecordBytes` bounds one record (default 1 MiB, `defaultMaxRecordBytes`).
 *
 * @since 0.1.0
 */
export interface Options {
  readonly maxRecordBytes?: number | undefined
}

const endOfBody = new Uint8Array(0)

const parseAll = (records: ReadonlyArray<Split>): Array<Framed> => {
  const out: Array<Framed> = new Array(records.length)
  for (let i = 0; i < records.length; i++) {
    const record = records[i]
    out[i] = typeof record === "string" ? Hit.parse(record) : record
  }
  return out
}

/**
 * Record texts (and skipped records) to hits and malformed records.
 *
 * @since 0.1.0
 */
export const parseRecords = <E, R>(self: Stream.Stream<Split, E, R>): Stream.Stream<Framed, E, R> =>
  // One output per input: the array stays non-empty.
  Stream.mapArray(self, (records) => parseAll(records) as unknown as readonly [Framed, ...Array<Framed>])

/**
 * Uncompressed body bytes to record texts, over-long records skipped.
 *
 * @since 0.1.0
 */
export const split = <E, R>(
  self: Stream.Stream<Uint8Array, E, R>,
  options?: Options
): Stream.Stream<Split, E, R> =>
  Stream.mapAccumArray(
    // The end marker tells a finished body (its last record may lack a separator) from a
    // failed one (its last record is cut short, and the server re-sends it on reconnect).
    Stream.concat(self, Stream.succeed(endOfBody)),
    () => new RecordSplitter(options?.maxRecordBytes),
    (splitter, chunk) => {
      const records: Array<Split> = []
      for (let i = 0; i < chunk.length; i++) {
        if (chunk[i] === endOfBody) splitter.endInto(records)
        else splitter.pushInto(chunk[i], records)
      }
      return [splitter, records]
    }
  )

/**
 * Uncompressed body bytes to hits and malformed records.
 *
 * @since 0.1.0
 */
export const decodeUncompressed = <E, R>(
  self: Stream.Stream<Uint8Array, E, R>,
  options?: Options
): Stream.Stream<Framed, E, R> => parseRecords(split(self, options))

const gzipError = (error: unknown, compressedBytes: number) => {
  const message = error instanceof Error ? error.message : String(error)
  return new GzipError({
    message: `the gzip stream is corrupt or truncated: ${message || "invalid data"}`,
    compressedBytes
  })
}

const keepBytes = (chunk: Uint8Array, out: Array<Uint8Array>) => {
  out.push(chunk)
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
 * By default the output is the inflated bytes. Given `consume` (and `finish`, run at the end of a
 * whole gzip stream), each inflated piece (16 KiB at most) is handed over as zlib produces it:
 * a record splitter there keeps memory bounded however far a small input inflates.
 *
 * @since 0.1.0
 */
export class Gunzip<A = Uint8Array> {
  private readonly zlib = createGunzip()
  private output: Array<A> = []
  private failure: unknown = undefined
  private compressed = 0
  // At most one push or end is in flight: the stream pulls one batch at a time.
  private pending: ((result: Gunzip.Result<A>) => void) | undefined

  constructor(
    consume: (chunk: Uint8Array, out: Array<A>) => void = keepBytes as any,
    finish?: (out: Array<A>) => void
  ) {
    this.zlib.on("data", (chunk: Uint8Array) => consume(chunk, this.output))
    this.zlib.on("error", (error) => {
      this.failure ??= error
      this.resolve()
    })
    this.zlib.on("end", () => {
      finish?.(this.output)
      this.resolve()
    })
  }

  private resolve(): void {
    const pending = this.pending
    this.pending = undefined
    pending?.(this.settle())
  }

  private settle(): Gunzip.Result<A> {
    const output = this.output
    this.output = []
    return {
      output,
      error: this.failure === undefined ? undefined : gzipError(this.failure, this.compressed)
    }
  }

  /** The output these chunks complete, and the fault if the data turned out to be bad. */
  push(chunks: ReadonlyArray<Uint8Array>): Promise<Gunzip.Result<A>> {
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
  end(): Promise<Gunzip.Result<A>> {
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
  /** Decoded output, then (when set) the fault that ends the stream after it. */
  export interface Result<A = Uint8Array> {
    readonly output: Array<A>
    readonly error: GzipError | undefined
  }
}

const batch = 16

const slices = (chunks: ReadonlyArray<Uint8Array>): Array<ReadonlyArray<Uint8Array>> => {
  const out: Array<ReadonlyArray<Uint8Array>> = []
  for (let i = 0; i < chunks.length; i += batch) out.push(chunks.slice(i, i + batch))
  return out
}

const emit = <A>(result: Gunzip.Result<A>): Stream.Stream<A, GzipError> => {
  const output = Stream.fromArray(result.output)
  return result.error === undefined ? output : Stream.concat(output, Stream.fail(result.error))
}

const through = <A, E, R>(
  self: Stream.Stream<Uint8Array, E, R>,
  make: () => Gunzip<A>
): Stream.Stream<A, E | GzipError, R> =>
  Stream.unwrap(
    Effect.acquireRelease(Effect.sync(make), (g) => Effect.sync(() => g.close())).pipe(
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
 * Streaming gunzip. A corrupt or truncated gzip stream fails with `GzipError`, after every byte
 * decodable before the fault has been emitted. The output of one batch is held whole: to bound
 * memory against a small body that inflates hugely, use `gunzipSplit`.
 *
 * @since 0.1.0
 */
export const gunzip = <E, R>(
  self: Stream.Stream<Uint8Array, E, R>
): Stream.Stream<Uint8Array, E | GzipError, R> => through(self, () => new Gunzip())

/**
 * Streaming gunzip and record splitting in one step: each piece zlib inflates goes straight
 * into the splitter, so memory is bounded by `maxRecordBytes` (plus the records completed),
 * not by how far the input inflates. A gzip bomb of one endless record costs at most the limit.
 * A record cut short by a fault or a failed body is dropped: the server re-sends it.
 *
 * @since 0.1.0
 */
export const gunzipSplit = <E, R>(
  self: Stream.Stream<Uint8Array, E, R>,
  options?: Options
): Stream.Stream<Split, E | GzipError, R> =>
  through(self, () => {
    const splitter = new RecordSplitter(options?.maxRecordBytes)
    return new Gunzip<Split>(
      (chunk, out) => splitter.pushInto(chunk, out),
      (out) => splitter.endInto(out)
    )
  })

/**
 * A response body, as received, to hits and malformed records.
 *
 * @since 0.1.0
 */
export const decode = <E, R>(
  self: Stream.Stream<Uint8Array, E, R>,
  options?: Options
): Stream.Stream<Framed, E | GzipError, R> => parseRecords(gunzipSplit(self, options))
