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
import { Effect, Stream } from "effect"
import { constants, createGunzip } from "node:zlib"
import * as Hit from "./Hit.ts"
import * as Inflate from "./Inflate.ts"
import { RecordSplitter, type Split } from "./RecordSplitter.ts"

export {
  /** @since 0.1.0 */
  defaultMaxRecordBytes,
  /** @since 0.1.0 */
  RecordSplitter,
  /** @since 0.1.0 */
  type Split
} from "./RecordSplitter.ts"

export {
  /** @since 0.1.0 */
  defaultReadAhead,
  /** @since 0.1.0 */
  GzipError
} from "./Inflate.ts"

import { GzipError } from "./Inflate.ts"

const gzipError = Inflate.gzipError

/**
 * What framing emits: a hit, or a record that is not one (counted and logged by the reader).
 *
 * @since 0.1.0
 */
export type Framed = Hit.Hit | Hit.MalformedRecord

/**
 * Framing options. `maxRecordBytes` bounds one record (default 1 MiB, `defaultMaxRecordBytes`);
 * `readAhead` bounds the inflated bytes `gunzipSplit` holds ahead of its consumer (default
 * 512 KiB, `defaultReadAhead`).
 *
 * @since 0.1.0
 */
export interface Options {
  readonly maxRecordBytes?: number | undefined
  readonly readAhead?: number | undefined
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
 * into the splitter, so memory is bounded by `maxRecordBytes` plus `readAhead`, not by how far
 * the input inflates. A gzip bomb of one endless record costs at most the limit.
 *
 * Inflating runs ahead of the consumer (zlib works on its own thread while the consumer parses),
 * by at most `readAhead` inflated bytes: past that, the body is not read until the consumer takes
 * the records, and a socket behind it pushes back. A record cut short by a fault or a failed body
 * is dropped (the server re-sends it); every record completed before it is emitted first.
 *
 * @since 0.1.0
 */
export const gunzipSplit = <E, R>(
  self: Stream.Stream<Uint8Array, E, R>,
  options?: Options
): Stream.Stream<Split, E | GzipError, R> => Inflate.gunzipSplit(self, options)

/**
 * A response body, as received, to hits and malformed records.
 *
 * @since 0.1.0
 */
export const decode = <E, R>(
  self: Stream.Stream<Uint8Array, E, R>,
  options?: Options
): Stream.Stream<Framed, E | GzipError, R> => parseRecords(gunzipSplit(self, options))
