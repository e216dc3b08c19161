/**
 * A 200 stream's body on the socket: pacing, the connection's batches (`MemberCursor`) compressed
 * (`GzipBody`) and written in order, chunks cut at random byte positions, scripted faults, and the
 * preloaded body of the benchmarks.
 *
 * Written to Node's `ServerResponse` directly: a simulator must be able to drop a socket mid-chunk
 * or end a body mid-gzip, which a well-behaved response body cannot. A batch of hits counts as
 * sent (ground truth, the partition's written position, `toIndex`) only when the socket's write of
 * its last byte completed, in order: what a connection closed on is not counted.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import { randomBytes } from "node:crypto"
import type * as Http from "node:http"
import type * as Net from "node:net"
import { availableParallelism } from "node:os"
import { gzipSync } from "node:zlib"
import type * as GroundTruth from "./GroundTruth.ts"
import * as GzipBody from "./GzipBody.ts"
import * as HitGenerator from "./HitGenerator.ts"
import * as MemberCursor from "./MemberCursor.ts"
import type * as Scenario from "./Scenario.ts"
import type { Options } from "./SimulatorOptions.ts"
import * as StreamModel from "./StreamModel.ts"

/**
 * What a connection's writer works with.
 *
 * @since 0.1.0
 */
export interface Context {
  readonly options: Options
  readonly res: Http.ServerResponse
  readonly attempt: GroundTruth.Attempt
  readonly member: StreamModel.Member
  readonly group: StreamModel.Group
  readonly rules: StreamModel.Rules
  readonly truth: GroundTruth.GroundTruth
  readonly step: Scenario.Step | undefined
  /** Hits this connection may deliver by `at`: generated, or released by smoothing. */
  readonly available: (at: number) => number
  /** Brings the group up to `at` (ghosts that timed out hand over their partitions). */
  readonly tick: (at: number) => void
  readonly now: Effect.Effect<number>
  /** The benchmarks' body: every hit, compressed once. */
  readonly preloaded: Buffer | undefined
  /** Registers how to drop this connection, for `/_sim/drop`. */
  readonly onDrop: (drop: () => void) => void
}

// A PRNG for chunk sizes and empty records: deterministic per attempt, independent of timing.
const prng = (seed: number) => {
  let state = seed >>> 0 || 1
  return () => {
    state ^= state << 13
    state ^= state >>> 17
    state ^= state << 5
    return (state >>> 0) / 4294967296
  }
}

interface Batch {
  /** The uncompressed records, in `buffer` (returned to the pool once compressed). */
  readonly bytes: Buffer | undefined
  readonly buffer: Buffer | undefined
  readonly count: number
  readonly duplicates: number
  readonly to: number
  compressed?: Buffer
  /** Given to the socket (in order). */
  handed?: boolean
  readonly ranges: ReadonlyArray<MemberCursor.Range>
  state: "pending" | "written" | "failed"
}

// 512 records (~1 MB) per batch: the per-batch costs (a trip to the thread pool, the bookkeeping)
// stay small next to the batch's own, and a batch is still written within milliseconds.
const perBatch = 512
// Room for a whole batch's compressed bytes (~90 KB at level 1): one trip to the thread pool per
// batch, not one per 16 KiB.
const chunkSize = 256 * 1024
const bufferBytes = perBatch * (HitGenerator.maxRecordBytes + 4)
// Batches compressed at once: the machine's cores (the generating thread does a fraction of the
// compressing threads' work), at most libuv's default thread pool of 4.
const compressors = Math.max(1, Math.min(4, availableParallelism()))
// Batches generated ahead of the socket: enough to keep the compressors busy while the next one
// is generated, few enough to bound the memory held per connection.
const ahead = compressors + 1

/**
 * Serves a 200 stream until the client leaves, a fault ends it, or it is dropped.
 *
 * @since 0.1.0
 */
export const serve = (ctx: Context): Effect.Effect<void> =>
  Effect.suspend(() => {
    const { options, res, attempt, member, group, rules, truth, step } = ctx
    const socket = res.socket as Net.Socket
    const random = prng(options.seed ^ Math.imul(attempt.attempt, 0x9e3779b1))
    let stopped = false

    res.writeHead(200, {
      "content-type": "application/json",
      "content-encoding": "gzip",
      "transfer-encoding": "chunked",
      connection: "keep-alive"
    })
    res.flushHeaders()

    // --- writing, in order, with each batch's completion -------------------------------------
    const queue: Array<Batch> = []
    let needDrain = false
    let wake: (() => void) | undefined
    const signal = () => {
      const w = wake
      wake = undefined
      w?.()
    }
    const nextEvent = Effect.callback<void>((resume) => {
      wake = () => resume(Effect.void)
    })
    res.on("drain", () => {
      needDrain = false
      signal()
    })
    const settle = () => {
      while (queue.length > 0 && queue[0].state !== "pending") {
        const batch = queue.shift()!
        if (batch.state === "failed") {
          stopped = true
          continue
        }
        attempt.hitsSent += batch.count
        attempt.duplicatesSent += batch.duplicates
        attempt.toIndex = batch.to
        for (const r of batch.ranges) {
          StreamModel.written(group, r.p, r.epoch, r.to)
          truth.sentRange(r.p, r.from, r.to)
        }
      }
      signal()
    }
    // Compressed bytes cut at random positions, so chunk boundaries fall anywhere: mid-record,
    // mid-CRLF, mid-UTF-8 character. `done` runs once the socket took the last byte.
    const writeCut = (bytes: Uint8Array, done?: (error?: Error | null) => void) => {
      if (stopped) return done?.(new Error("stopped"))
      let offset = 0
      while (offset < bytes.length) {
        const size = 1 + Math.floor(random() * options.maxChunkSize)
        const end = Math.min(bytes.length, offset + size)
        const ok =
          end === bytes.length && done
            ? res.write(bytes.subarray(offset, end), done)
            : res.write(bytes.subarray(offset, end))
        if (!ok) needDrain = true
        offset = end
      }
      if (bytes.length === 0) done?.()
    }

    // Batches are compressed by the connection's deflate contexts (on the thread pool, while the
    // next batch is generated) and written in order as they come back.
    const gzip = GzipBody.make({
      level: options.gzipLevel,
      trailing: step?.fault === "end",
      chunkSize,
      contexts: compressors
    })
    const spare: Array<Buffer> = []
    let inFlight = 0
    const handOn = () => {
      for (const batch of queue) {
        if (batch.handed) continue
        if (batch.compressed === undefined) return
        batch.handed = true
        writeCut(gzip.framed(batch.compressed), (error) => {
          batch.state = error ? "failed" : "written"
          settle()
        })
      }
    }
    const submit = (batch: Batch) => {
      queue.push(batch)
      const bytes = batch.bytes
      if (bytes === undefined) {
        batch.handed = true
        batch.state = "written"
        return settle()
      }
      inFlight++
      gzip.compress(bytes, (out) => {
        inFlight--
        if (batch.buffer !== undefined) spare.push(batch.buffer)
        if (out instanceof Error) {
          batch.state = "failed"
          return settle()
        }
        batch.compressed = out
        handOn()
        signal()
      })
    }

    // --- faults ------------------------------------------------------------------------------
    const closed = Effect.callback<void>((resume) => {
      if (res.destroyed || res.writableFinished) return resume(Effect.void)
      res.once("close", () => resume(Effect.void))
    })
    const stop = (end: GroundTruth.AttemptEnd, how: () => void) =>
      Effect.sync(() => {
        attempt.end = end
        how()
        stopped = true
      }).pipe(Effect.andThen(closed))
    const fault = (kind: Scenario.Fault): Effect.Effect<void> => {
      switch (kind) {
        case "drop":
          // Whatever was written still reaches the client; the chunked body never ends.
          return stop("dropped", () => socket.end())
        case "end":
          return stop("ended", () => {
            writeCut(gzip.trailer())
            res.end()
          })
        case "truncate":
          // A flush point, then half a block: the gzip stream stops mid-way, the HTTP body ends.
          return Effect.flatMap(gzip.truncated, (bytes) =>
            stop("truncated", () => {
              writeCut(bytes.subarray(0, Math.max(1, bytes.length >> 1)))
              res.end()
            })
          )
        case "garbage":
          return stop("garbage", () => {
            writeCut(randomBytes(512))
            socket.end()
          })
        case "stall":
          return step?.stallFor === undefined ? Effect.never : Effect.sleep(step.stallFor)
      }
    }

    // --- the pump ----------------------------------------------------------------------------
    const cursor = MemberCursor.make(options.seed, group, rules, member)
    const emptyRecord = () => options.emptyRecordRate > 0 && random() < options.emptyRecordRate
    const faultAfter = step?.fault !== undefined ? (step.after ?? 0) : Number.POSITIVE_INFINITY
    const idle =
      options.rate > 0 && options.rate !== Number.POSITIVE_INFINITY
        ? Math.min(100, Math.max(5, 1000 / options.rate))
        : 100
    const pump = Effect.gen(function* () {
      let faultDone = false
      let submitted = 0
      ctx.tick(yield* ctx.now)
      cursor.sync()
      attempt.fromIndex = cursor.scan()
      attempt.toIndex = cursor.scan()
      while (true) {
        if (!faultDone && submitted >= faultAfter && step?.fault !== undefined) {
          // A fault comes after every hit before it has reached the socket.
          if (queue.length > 0) {
            yield* nextEvent
            continue
          }
          faultDone = true
          yield* fault(step.fault)
          continue
        }
        if (stopped) return yield* Effect.never
        if (inFlight >= ahead || needDrain) {
          yield* nextEvent
          continue
        }
        const at = yield* ctx.now
        ctx.tick(at)
        const holding = cursor.sync()
        const available = ctx.available(at)
        if (!holding || cursor.scan() >= available) {
          yield* inFlight > 0 ? nextEvent : Effect.sleep(idle)
          continue
        }
        const budget = Math.min(faultDone ? perBatch : faultAfter - submitted, perBatch)
        const target = spare.pop() ?? Buffer.allocUnsafeSlow(bufferBytes)
        const timeGMT = Math.floor(at / 1000)
        const filled = cursor.take({ available, budget, timeGMT, target, emptyRecord })
        const { count } = filled
        submitted += count
        if (count === 0) spare.push(target)
        submit({
          bytes: count === 0 ? undefined : target.subarray(0, filled.bytes),
          buffer: count === 0 ? undefined : target,
          count,
          duplicates: filled.duplicates,
          to: filled.to,
          ranges: filled.ranges,
          state: "pending"
        })
        // Caught up with what exists: wait for more rather than spin.
        if (filled.to >= available && count < budget) yield* Effect.sleep(idle)
        else yield* Effect.yieldNow
      }
    })

    ctx.onDrop(() => {
      attempt.end ??= "dropped"
      socket.end()
      stopped = true
    })
    const body =
      ctx.preloaded !== undefined && step === undefined && member.partitions.length === rules.partitions
        ? servePreloaded(ctx, ctx.preloaded, settle, queue)
        : pump
    return Effect.raceFirst(body, closed).pipe(Effect.ensuring(Effect.sync(gzip.close)))
  })

const servePreloaded = (ctx: Context, body: Buffer, settle: () => void, queue: Array<Batch>) =>
  Effect.sync(() => {
    const total = ctx.options.totalHits ?? 0
    const batch: Batch = {
      bytes: body,
      buffer: undefined,
      count: total,
      duplicates: 0,
      to: total,
      ranges: ctx.group.partitions.map((part, p) => ({ p, epoch: part.epoch, from: 0, to: total })),
      state: "pending"
    }
    queue.push(batch)
    ctx.attempt.end = "ended"
    // Fixed-size chunks: the benchmarks measure the client, with the same cuts every run.
    const size = ctx.options.maxChunkSize
    for (let offset = 0; offset < body.length; offset += size) {
      const end = Math.min(body.length, offset + size)
      if (end < body.length) ctx.res.write(body.subarray(offset, end))
      else
        ctx.res.write(body.subarray(offset, end), (error) => {
          batch.state = error ? "failed" : "written"
          settle()
        })
    }
    ctx.res.end()
  }).pipe(Effect.andThen(Effect.never))

/**
 * The benchmarks' body: the first `totalHits` hits compressed once, if `preload` is on.
 *
 * @since 0.1.0
 */
export const preload = (options: Options): Buffer | undefined => {
  if (!options.preload || options.totalHits === undefined) return undefined
  const parts: Array<string> = []
  for (let n = 0; n < options.totalHits; n++) {
    parts.push(HitGenerator.generate(options.seed, n, 1_764_000_000).text, "\r\n")
  }
  return gzipSync(parts.join(""), { level: options.gzipLevel })
}
