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
 * @since 0.1.0
 */
import { Hit } from "@hitstream/core"
import { Clock, Effect, Schema } from "effect"
import { createReadStream, createWriteStream } from "node:fs"
import { open, rename, unlink } from "node:fs/promises"
import { pipeline } from "node:stream/promises"
import { createGzip } from "node:zlib"

/**
 * The sink cannot write: the disk is full, the path is not writable, stdout is closed.
 *
 * @since 0.1.0
 */
export class SinkError extends Schema.TaggedError<SinkError>()("SinkError", {
  target: Schema.String,
  message: Schema.String
}) {}

/**
 * @since 0.1.0
 */
export interface Sink {
  readonly write: (hits: ReadonlyArray<Hit.Hit>) => Effect.Effect<void, SinkError>
  /** Flushes and closes: after it, everything written is on disk (fsync) or in the pipe. */
  readonly close: Effect.Effect<void, SinkError>
  /** Hits written so far. */
  readonly written: () => number
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
  const line = format === "raw" ? Hit.recordText : format === "json" ? Hit.toJson : format
  let out = ""
  for (let i = 0; i < hits.length; i++) out += line(hits[i]) + "\n"
  return out
}

/**
 * Standard output, waiting for `drain` when the pipe is full.
 *
 * @since 0.1.0
 */
export const stdout = (format: Format, out: NodeJS.WritableStream = process.stdout): Sink => {
  let written = 0
  const failure = (e: unknown) =>
    new SinkError({ target: "stdout", message: `cannot write to stdout: ${(e as Error).message}` })
  return {
    write: (hits) =>
      Effect.callback<void, SinkError>((resume) => {
        if (hits.length === 0) return resume(Effect.void)
        written += hits.length
        const ok = out.write(render(hits, format), (e) => {
          if (e) resume(Effect.fail(failure(e)))
        })
        if (ok) resume(Effect.void)
        else out.once("drain", () => resume(Effect.void))
      }),
    close: Effect.callback<void, SinkError>((resume) => {
      // An empty write's callback fires once everything before it has been handed to the OS.
      out.write("", () => resume(Effect.void))
    }),
    written: () => written
  }
}

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
}

const stamp = (millis: number) => new Date(millis).toISOString().replace(/[:.]/g, "-")

/**
 * Appends NDJSON to a file; rotates by size and/or age to `PATH.<timestamp>` (gzipped on
 * request); fsyncs on rotation and on close.
 *
 * @since 0.1.0
 */
export const file = (options: FileOptions) =>
  Effect.gen(function* () {
    const failure = (e: unknown) =>
      new SinkError({
        target: options.path,
        message: `cannot write ${options.path}: ${(e as Error).message}`
      })
    // A write stream buffers and writes in the background; a batch waits only when the stream
    // asks for a drain. fsync needs the descriptor, so the stream is opened on one.
    const openFile = Effect.tryPromise({
      try: async () => {
        const handle = await open(options.path, "a")
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
    const compressions: Array<Promise<void>> = []
    const watch = (out: typeof current.out) => out.on("error", (e) => (broken ??= e))
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

    const rotate = Effect.gen(function* () {
      const now = yield* Clock.currentTimeMillis
      const target = `${options.path}.${stamp(now)}`
      yield* settle(current)
      yield* Effect.tryPromise({ try: () => rename(options.path, target), catch: failure })
      if (options.rotateGzip) {
        compressions.push(
          pipeline(createReadStream(target), createGzip(), createWriteStream(`${target}.gz`))
            .then(() => unlink(target))
            .catch(() => undefined)
        )
      }
      current = yield* openFile
      watch(current.out)
      size = 0
      openedAt = now
    })

    const sink: Sink = {
      write: (hits) =>
        Effect.gen(function* () {
          if (hits.length === 0) return
          if (broken !== undefined) return yield* failure(broken)
          const now = yield* Clock.currentTimeMillis
          if (
            size > 0 &&
            ((options.rotateSize !== undefined && size >= options.rotateSize) ||
              (options.rotateInterval !== undefined && now - openedAt >= options.rotateInterval))
          ) {
            yield* rotate
          }
          const text = render(hits, options.format)
          size += Buffer.byteLength(text)
          written += hits.length
          const out = current.out
          if (!out.write(text))
            yield* Effect.callback<void>((resume) => void out.once("drain", () => resume(Effect.void)))
        }),
      close: Effect.gen(function* () {
        yield* settle(current)
        yield* Effect.promise(() => Promise.all(compressions))
        if (broken !== undefined) return yield* failure(broken)
      }),
      written: () => written
    }
    return sink
  })
