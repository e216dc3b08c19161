/**
 * Streaming gunzip into a record splitter, with inflating overlapped with whatever the consumer
 * does (parsing, dedup, writing), and read-ahead bounded in bytes.
 *
 * Node's zlib inflates on its thread pool. Waiting for each batch to come back before reading the
 * next (as a plain `Effect.promise` per batch does) leaves both sides idle in turn: the profile
 * showed the client idle about 39% of the time. Here a feeder fiber writes socket bytes into zlib
 * as long as zlib accepts them; the pieces zlib inflates (64 KiB at most) wait as bytes, and each
 * pull of the consumer splits the next piece into its records (about 30 hits). Batches stay small
 * from the socket to the sink, so a hit is written before the young generation's next scavenges
 * and dies young, as the naive client's do.
 *
 * Read-ahead is bounded in bytes, not in chunks: once `readAhead` inflated bytes wait for the
 * consumer, zlib's output is paused; its input then fills (16 KiB), the feeder stops pulling, the
 * socket stops being read and TCP pushes back. A gzip bomb costs at most `readAhead` plus
 * `maxRecordBytes`, however far it inflates.
 *
 * Internal to `Framing` (`gunzipSplit`).
 *
 * @since 0.1.0
 */
import { Cause, Effect, type Pull, Schema, Scope, Stream } from "effect"
import type * as Arr from "effect/Array"
import type { TransformOptions } from "node:stream"
import { constants, createGunzip, type ZlibOptions } from "node:zlib"
import { RecordSplitter, type Split } from "./RecordSplitter.ts"

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
 * Inflated bytes held for the consumer before zlib is paused: 512 KiB, about 250 hits.
 *
 * @since 0.1.0
 */
export const defaultReadAhead = 512 * 1024

/** @internal */
export const gzipError = (error: unknown, compressedBytes: number) => {
  const message = error instanceof Error ? error.message : String(error)
  return new GzipError({
    message: `the gzip stream is corrupt or truncated: ${message || "invalid data"}`,
    compressedBytes
  })
}

// Node passes stream options through to the Transform; its zlib types name only zlib's own.
const zlibOptions: ZlibOptions & TransformOptions = { chunkSize: 64 * 1024, writableHighWaterMark: 16 * 1024 }

class Inflater<E> {
  // 64 KiB out per thread-pool trip (a quarter of the trips of the default 16 KiB); 16 KiB of
  // compressed input queued at most, so a paused zlib holds little of the socket's bytes.
  private readonly zlib = createGunzip(zlibOptions)
  private readonly splitter: RecordSplitter
  // The read-ahead is inflated bytes, not record texts: they are split when the consumer pulls,
  // one piece at a time. Bytes wait off the JavaScript heap; texts split ahead of time would wait
  // on it long enough to survive two scavenges and be promoted (a whole read-ahead of records,
  // ~250 hits, was parsed, queued and written as one batch: most of every hit reached the old
  // generation, a full collection every ~1,300 hits).
  private pieces: Array<Uint8Array> = []
  private next = 0
  /** Inflated bytes in `pieces` not yet split. */
  private held = 0
  private paused = false
  private compressed = 0
  /** zlib is done: the last piece is in `pieces`. */
  private ended = false
  private endSplit = false
  private failure: Cause.Cause<E | GzipError> | undefined
  private wakeConsumer: (() => void) | undefined
  private wakeFeeder: (() => void) | undefined

  private readonly readAhead: number

  constructor(maxRecordBytes: number | undefined, readAhead: number) {
    this.readAhead = readAhead
    this.splitter = new RecordSplitter(maxRecordBytes)
    this.zlib.on("data", (chunk: Uint8Array) => {
      this.pieces.push(chunk)
      this.held += chunk.length
      if (this.held >= this.readAhead && !this.paused) {
        this.paused = true
        this.zlib.pause()
      }
      this.wake()
    })
    this.zlib.on("drain", () => {
      const wake = this.wakeFeeder
      this.wakeFeeder = undefined
      wake?.()
    })
    this.zlib.on("error", (error) => {
      // Output zlib produced before the fault and still buffered (paused) is good data.
      let chunk: Uint8Array | null
      while ((chunk = this.zlib.read()) !== null) {
        this.pieces.push(chunk)
        this.held += chunk.length
      }
      this.failure ??= Cause.fail(gzipError(error, this.compressed))
      this.wake()
      const wake = this.wakeFeeder
      this.wakeFeeder = undefined
      wake?.()
    })
    this.zlib.on("end", () => {
      this.ended = true
      this.wake()
    })
  }

  // The consumer is resumed after zlib's callback has returned, not inside it: a fiber resumed
  // in the `data` handler runs there and then, and zlib starts inflating the next piece only
  // when the callback returns, so parsing and inflating took turns (the consumer waited for
  // zlib before every piece, about 40% of the time). Deferred to a microtask, the next piece
  // inflates on zlib's thread while this one is parsed.
  private wakePending = false

  private wake(): void {
    if (this.wakeConsumer === undefined || this.wakePending) return
    this.wakePending = true
    queueMicrotask(this.wakeNow)
  }

  private readonly wakeNow = (): void => {
    this.wakePending = false
    const wake = this.wakeConsumer
    this.wakeConsumer = undefined
    wake?.()
  }

  /** Writes a batch of compressed chunks; `false` when zlib wants a drain first. */
  write(chunks: ReadonlyArray<Uint8Array>): boolean {
    let ok = true
    for (let i = 0; i < chunks.length; i++) {
      this.compressed += chunks[i].length
      ok = this.zlib.write(chunks[i])
    }
    return ok
  }

  readonly drained: Effect.Effect<void> = Effect.callback<void>((resume) => {
    if (this.failure !== undefined || this.zlib.writableLength === 0) return resume(Effect.void)
    this.wakeFeeder = () => resume(Effect.void)
    return Effect.sync(() => {
      this.wakeFeeder = undefined
    })
  })

  /** The body ended: a gzip stream without its trailer fails with `GzipError`. */
  end(): void {
    // Flushed first: a fault at the end discards the output of the call that found it, and all
    // of the body's last bytes would otherwise be inflated by that call.
    if (this.zlib.destroyed) return
    this.zlib.flush(constants.Z_SYNC_FLUSH, () => this.zlib.end())
  }

  /** The body failed: what was received is still inflated and emitted, then the failure. */
  fail(cause: Cause.Cause<E>): void {
    if (this.failure !== undefined || this.zlib.destroyed) {
      this.failure ??= cause
      return this.wake()
    }
    // The record cut short by the failure stays in the splitter and is dropped: the server
    // re-sends it.
    this.zlib.flush(constants.Z_SYNC_FLUSH, () => {
      this.failure ??= cause
      this.wake()
    })
  }

  private readonly waitForOutput: Effect.Effect<void> = Effect.callback<void>((resume) => {
    this.wakeConsumer = () => resume(Effect.void)
    return Effect.sync(() => {
      this.wakeConsumer = undefined
    })
  })

  readonly pull: Pull.Pull<Arr.NonEmptyReadonlyArray<Split>, E | GzipError> = Effect.suspend(() =>
    this.take()
  )

  /** The records of the next piece (or pieces, while a long record streams in). */
  private splitNext(): Array<Split> {
    const out: Array<Split> = []
    while (out.length === 0 && this.next < this.pieces.length) {
      const piece = this.pieces[this.next]
      this.pieces[this.next++] = empty
      this.held -= piece.length
      this.splitter.pushInto(piece, out)
    }
    if (this.next === this.pieces.length) {
      this.pieces = []
      this.next = 0
    }
    if (this.paused && this.held < this.readAhead) {
      this.paused = false
      this.zlib.resume()
    }
    // Only a body that ended cleanly completes its last record (a fault drops the cut record).
    if (out.length === 0 && this.ended && !this.endSplit && this.failure === undefined) {
      this.endSplit = true
      this.splitter.endInto(out)
    }
    return out
  }

  private take(): Pull.Pull<Arr.NonEmptyReadonlyArray<Split>, E | GzipError> {
    const records = this.splitNext()
    if (records.length > 0) return Effect.succeed(records as unknown as Arr.NonEmptyArray<Split>)
    if (this.failure !== undefined) return Effect.failCause(this.failure)
    if (this.ended) return Cause.done()
    return Effect.flatMap(this.waitForOutput, () => this.take())
  }

  close(): void {
    this.zlib.destroy()
  }
}

const empty = new Uint8Array(0)

/**
 * Streaming gunzip and record splitting, inflating ahead of the consumer by at most
 * `readAhead` bytes.
 *
 * @since 0.1.0
 */
export const gunzipSplit = <E, R>(
  self: Stream.Stream<Uint8Array, E, R>,
  options: { readonly maxRecordBytes?: number | undefined; readonly readAhead?: number | undefined } = {}
): Stream.Stream<Split, E | GzipError, R> =>
  Stream.transformPull(self, (pull, scope) =>
    Effect.gen(function* () {
      const inflater = new Inflater<E>(options.maxRecordBytes, options.readAhead ?? defaultReadAhead)
      yield* Scope.addFinalizer(
        scope,
        Effect.sync(() => inflater.close())
      )
      const feed = Effect.gen(function* () {
        while (true) {
          const chunks = yield* pull
          if (!inflater.write(chunks)) yield* inflater.drained
        }
      }).pipe(
        Effect.onExit((exit) =>
          Effect.sync(() => {
            if (exit._tag === "Success") return
            const cause = exit.cause
            if (Cause.hasInterruptsOnly(cause)) return
            if (Cause.hasFails(cause) && Cause.isDone(Cause.squash(cause))) return inflater.end()
            inflater.fail(cause as Cause.Cause<E>)
          })
        ),
        Effect.ignoreCause
      )
      yield* Effect.forkIn(feed, scope)
      return inflater.pull
    })
  )
