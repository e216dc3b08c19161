/**
 * Where `hitstream run` writes hits: stdout, or NDJSON files with rotation.
 *
 * Formats: `raw` writes each record's original JSON text byte for byte (ids as the vendor wrote
 * them, bare numbers); `json` re-serialises the hit with its ids as exact decimal strings, for
 * consumers whose JSON parser would round them. One record per line either way.
 *
 * Writes are per batch (one call per chunk of hits, not per hit) and respect backpressure: a
 * slow disk or a slow pipe pauses the stream, and through it the socket.
 *
 * Files hold IPs, zip codes and visitor ids: they are created with mode 0600 (readable by the
 * owner only) whatever the umask, unless `fileMode` widens it.
 *
 * @since 0.1.0
 */
import { Hit } from "@hitstream/core"
import { Clock, DateTime, Deferred, Effect, FiberSet, Schema, Scope } from "effect"
import { createReadStream, createWriteStream } from "node:fs"
import { chmod, open, rename, stat, unlink } from "node:fs/promises"
import { pipeline } from "node:stream/promises"
import { createGzip } from "node:zlib"
import type * as Terminal from "./Terminal.ts"

/**
 * The sink cannot write: the disk is full, the path is not writable.
 *
 * @since 0.1.0
 */
export class SinkError extends Schema.TaggedError<SinkError>()("SinkError", {
  target: Schema.String,
  message: Schema.String
}) {}

/**
 * The reader of stdout went away (`hitstream run | head -n 3`): not a failure, the end of the
 * run, as for any Unix tool.
 *
 * @since 0.1.0
 */
export class StdoutClosed extends Schema.TaggedError<StdoutClosed>()("StdoutClosed", {}) {}

/**
 * @since 0.1.0
 */
export interface Sink {
  readonly write: (hits: ReadonlyArray<Hit.Hit>) => Effect.Effect<void, SinkError | StdoutClosed>
  /** Flushes and closes: after it, everything written is on disk (fsync) or in the pipe. */
  readonly close: Effect.Effect<void, SinkError>
  /** Hits written so far: handed to the OS, not merely accepted. */
  readonly written: () => number
  /** Fails as soon as the sink breaks between writes (the reader of a pipe went away). */
  readonly broken: Effect.Effect<never, SinkError | StdoutClosed>
}

/**
 * How a hit becomes a line: its original record text, re-serialised JSON, or any rendering (the
 * demo's short summary lines).
 *
 * @since 0.1.0
 */
export type Format = "raw" | "json" | ((hit: Hit.Hit) => string)

/**
 * Renders a batch of hits, one line each.
 *
 * @since 0.1.0
 */
export const render = (hits: ReadonlyArray<Hit.Hit>, format: Format): string => {
  let out = ""
  renderPieces(hits, format, (text) => {
    out += text
  })
  return out
}

// About 16 K characters of text per piece. A batch can be hundreds of hits (the queue hands over
// all it holds): one string for all of them is megabytes, allocated outside the young generation.
// A piece of 64 K characters of two-byte text (any non-ASCII character makes it so) is 128 KB
// when flattened for the write, past V8's largest regular object, so each one was allocated in
// the large-object space and counted against the old generation: in a paired run of 100,000 hits
// `writeUtf8String` took 2.0 s with 64 K pieces and 0.7 s with 16 K pieces (the naive client,
// which writes one string per 16 KiB inflated chunk: 0.65 s).
const pieceChars = 16 * 1024

/**
 * Renders a batch in pieces of about 16 K characters, each handed to `each` with the number of hits in it.
 *
 * @since 0.1.0
 */
export const renderPieces = (
  hits: ReadonlyArray<Hit.Hit>,
  format: Format,
  each: (text: string, hits: number) => void
): void => {
  const line = format === "raw" ? Hit.recordText : format === "json" ? Hit.toJson : format
  let out = ""
  let n = 0
  for (let i = 0; i < hits.length; i++) {
    out += line(hits[i]) + "\n"
    n++
    if (out.length >= pieceChars) {
      each(out, n)
      out = ""
      n = 0
    }
  }
  if (n > 0) each(out, n)
}

interface Corkable {
  readonly cork: () => void
  readonly uncork: () => void
}

const isClosedPipe = (e: unknown) => {
  const code = (e as { code?: string } | undefined)?.code
  return code === "EPIPE" || code === "ERR_STREAM_DESTROYED" || code === "ERR_STREAM_WRITE_AFTER_END"
}

/**
 * Standard output, waiting for `drain` when the pipe is full. A reader that goes away ends the
 * run with `StdoutClosed`. On a terminal shared with the status line (`line`), hits scroll above
 * it.
 *
 * @since 0.1.0
 */
export const stdout = Effect.fnUntraced(function* (
  format: Format,
  options: { readonly out?: NodeJS.WritableStream; readonly line?: Terminal.StatusLine | undefined } = {}
) {
  const out = options.out ?? process.stdout
  const broken = yield* Deferred.make<never, SinkError | StdoutClosed>()
  let failure: SinkError | StdoutClosed | undefined
  let written = 0
  const waiting = new Set<() => void>()
  const onError = (e: unknown) => {
    failure ??= isClosedPipe(e)
      ? new StdoutClosed()
      : new SinkError({ target: "stdout", message: `cannot write to stdout: ${(e as Error).message}` })
    Deferred.doneUnsafe(broken, Effect.fail(failure))
    for (const resume of waiting) resume()
    waiting.clear()
  }
  // Registered for the life of the process: a late EPIPE must not become an uncaught exception.
  out.on("error", onError)
  const line = options.line
  const sink: Sink = {
    write: (hits) =>
      Effect.callback<void, SinkError | StdoutClosed>((resume) => {
        if (failure !== undefined) return resume(Effect.fail(failure))
        if (hits.length === 0) return resume(Effect.void)
        let ok = true
        // Corked, the pieces of a batch leave in one `writev` system call, not one call each.
        const corkable = line === undefined && typeof (out as Partial<Corkable>).cork === "function"
        if (corkable) (out as unknown as Corkable).cork()
        renderPieces(hits, format, (text, n) => {
          const done = (e?: Error | null) => {
            if (e) onError(e)
            else written += n
          }
          if (line !== undefined) line.above(text, (t) => void (ok = out.write(t, done)))
          else ok = out.write(text, done)
        })
        if (corkable) (out as unknown as Corkable).uncork()
        if (ok) return resume(Effect.void)
        const wake = () => {
          waiting.delete(wake)
          out.removeListener("drain", wake)
          resume(failure === undefined ? Effect.void : Effect.fail(failure))
        }
        waiting.add(wake)
        out.once("drain", wake)
      }),
    close: Effect.callback<void, SinkError>((resume) => {
      if (failure !== undefined) return resume(Effect.void)
      // An empty write's callback fires once everything before it has been handed to the OS.
      out.write("", () => resume(Effect.void))
    }),
    written: () => written,
    broken: Deferred.await(broken)
  }
  return sink
})

/**
 * @since 0.1.0
 */
export interface FileOptions {
  readonly path: string
  readonly format: "raw" | "json"
  /** Rotate when the file reaches this many bytes. */
  readonly rotateSize: number | undefined
  /** Rotate when the file is this old, in milliseconds. */
  readonly rotateInterval: number | undefined
  /** Gzip rotated files (in the background; the live file stays plain). */
  readonly rotateGzip: boolean
  /** Mode of the files created (default 0600), applied whatever the umask. */
  readonly mode?: number | undefined
}

/**
 * The default mode of every file the program creates: the owner's only.
 *
 * @since 0.1.0
 */
export const defaultFileMode = 0o600

const stamp = (millis: number) => DateTime.formatIso(DateTime.makeUnsafe(millis)).replace(/[:.]/g, "-")

const exists = (path: string) =>
  stat(path).then(
    () => true,
    () => false
  )

/**
 * Appends NDJSON to a file; rotates by size and/or age to `PATH.<timestamp>` (gzipped on
 * request, in fibers of the sink's scope); fsyncs on rotation and on close. Closing the scope
 * closes the file and waits for the compressions.
 *
 * @since 0.1.0
 */
export const file = (options: FileOptions): Effect.Effect<Sink, SinkError, Scope.Scope> =>
  Effect.gen(function* () {
    const mode = options.mode ?? defaultFileMode
    const failure = (e: unknown) =>
      new SinkError({
        target: options.path,
        message: `cannot write ${options.path}: ${(e as Error).message}`
      })
    // A write stream buffers and writes in the background; a batch waits only when the stream
    // asks for a drain. fsync needs the descriptor, so the stream is opened on one.
    const openFile = Effect.tryPromise({
      try: async () => {
        const created = !(await exists(options.path))
        const handle = await open(options.path, "a", mode)
        // The umask may have narrowed the mode given to open, or widened nothing: set it exactly.
        if (created) await handle.chmod(mode)
        const size = (await handle.stat()).size
        return { handle, size, out: handle.createWriteStream({ autoClose: false }) }
      },
      catch: failure
    })
    let current = yield* openFile
    let size = current.size
    let openedAt = yield* Clock.currentTimeMillis
    let written = 0
    let broken: unknown = undefined
    let closed = false
    const brokenSignal = yield* Deferred.make<never, SinkError>()
    const compressions = yield* FiberSet.make<void, never>()
    const watch = (out: typeof current.out) =>
      out.on("error", (e) => {
        broken ??= e
        Deferred.doneUnsafe(brokenSignal, Effect.fail(failure(e)))
      })
    watch(current.out)

    // Everything written reaches the file, then the disk.
    const settle = (file: typeof current) =>
      Effect.tryPromise({
        try: async () => {
          // An empty write's callback runs once every write before it is done.
          await new Promise<void>((resolve, reject) =>
            file.out.write("", (e?: Error | null) => (e ? reject(e) : resolve()))
          )
          await file.handle.sync()
          await file.handle.close()
        },
        catch: failure
      })

    const gzip = (target: string) =>
      Effect.tryPromise({
        try: async (signal) => {
          await pipeline(
            createReadStream(target),
            createGzip(),
            createWriteStream(`${target}.gz`, { mode }),
            { signal }
          )
          await chmod(`${target}.gz`, mode)
          await unlink(target)
        },
        catch: (e) => e
      }).pipe(
        // The plain rotated file stays when compression fails: nothing is lost, and it is said.
        Effect.catch((e) =>
          Effect.logWarning(`could not gzip ${target}: ${(e as Error).message}; the file stays uncompressed`)
        )
      )

    const rotate = Effect.gen(function* () {
      const now = yield* Clock.currentTimeMillis
      let target = `${options.path}.${stamp(now)}`
      // Two rotations in one millisecond must not overwrite each other.
      for (let n = 1; yield* Effect.promise(() => exists(target)); n++)
        target = `${options.path}.${stamp(now)}-${n}`
      yield* settle(current)
      yield* Effect.tryPromise({ try: () => rename(options.path, target), catch: failure })
      if (options.rotateGzip) yield* FiberSet.run(compressions, gzip(target))
      current = yield* openFile
      watch(current.out)
      size = 0
      openedAt = now
    })

    const close = Effect.gen(function* () {
      if (closed) return
      closed = true
      yield* settle(current)
      yield* FiberSet.awaitEmpty(compressions)
      if (broken !== undefined) return yield* failure(broken)
    })
    yield* Effect.addFinalizer(() => Effect.ignore(close))

    // One system call per batch, no multi-megabyte string: the batch is rendered in pieces
    // (see pieceChars), each encoded once (its byte count for rotation comes from the buffer,
    // not a second pass over the text), and the corked stream hands them to one `writev`.
    // Uncorked, each piece was its own write: 64 KB pieces measured 1.7x slower than one buffer
    // per batch. No Effect per batch unless rotating or waiting for a drain.
    const append = (hits: ReadonlyArray<Hit.Hit>): Effect.Effect<void> => {
      const out = current.out
      let ok = true
      out.cork()
      renderPieces(hits, options.format, (text) => {
        const bytes = Buffer.from(text)
        size += bytes.length
        ok = out.write(bytes)
      })
      out.uncork()
      written += hits.length
      return ok
        ? Effect.void
        : Effect.callback<void>((resume) => void out.once("drain", () => resume(Effect.void)))
    }
    const rotateBySize = (): boolean =>
      size > 0 && options.rotateSize !== undefined && size >= options.rotateSize
    const rotateInterval = options.rotateInterval
    const sink: Sink = {
      write: (hits) =>
        Effect.suspend(() => {
          if (hits.length === 0) return Effect.void
          if (broken !== undefined) return Effect.fail(failure(broken))
          if (rotateInterval === undefined)
            return rotateBySize()
              ? Effect.andThen(
                  rotate,
                  Effect.suspend(() => append(hits))
                )
              : append(hits)
          return Effect.flatMap(Clock.currentTimeMillis, (now) =>
            rotateBySize() || (size > 0 && now - openedAt >= rotateInterval)
              ? Effect.andThen(
                  rotate,
                  Effect.suspend(() => append(hits))
                )
              : append(hits)
          )
        }),
      close,
      written: () => written,
      broken: Deferred.await(brokenSignal)
    }
    return sink
  })
