/**
 * The added-latency figures: how long a gzip-flushed chunk takes from arrival to its last hit
 * emitted, at 10,000 hits/s, p50 and p99.
 *
 * @since 0.1.0
 */
import { Framing, Hit } from "@hitstream/core"
import { HitGenerator } from "@hitstream/simulator"
import { type Cause, Effect, Fiber, Queue, Stream } from "effect"
import { constants, createGunzip, createGzip } from "node:zlib"
import { now } from "./Measure.ts"
import * as Pipelines from "./Pipelines.ts"
import type { Sizes } from "./Sizes.ts"
import type { Row } from "./Stats.ts"

const flushedChunks = (batches: number, perBatch: number) =>
  new Promise<Array<Uint8Array>>((resolve) => {
    const gzip = createGzip()
    const chunks: Array<Uint8Array> = []
    let pending: Array<Buffer> = []
    gzip.on("data", (d: Buffer) => pending.push(d))
    let n = 0
    const next = (batch: number) => {
      if (batch === batches) {
        // The trailer, so that the stream ends as a whole gzip stream.
        gzip.once("end", () => resolve([...chunks, Buffer.concat(pending)]))
        return void gzip.end()
      }
      let text = ""
      for (let i = 0; i < perBatch; i++) text += `${HitGenerator.generate(5, n++, 1_764_000_000).text}\r\n`
      gzip.write(text)
      gzip.flush(constants.Z_SYNC_FLUSH, () => {
        chunks.push(Buffer.concat(pending))
        pending = []
        next(batch + 1)
      })
    }
    next(0)
  })

const percentile = (values: ReadonlyArray<number>, p: number) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]
}

/** Each chunk's delay, from its arrival to its last hit emitted by hitstream's pipeline. */
const hitstreamDelays = (chunks: ReadonlyArray<Uint8Array>, perBatch: number) => {
  const pushed: Array<number> = []
  return Effect.runPromise(
    Effect.gen(function* () {
      const queue = yield* Queue.unbounded<Uint8Array, Cause.Done>()
      const delays: Array<number> = []
      let emitted = 0
      const consume = Stream.fromQueue(queue).pipe(
        Framing.decode,
        Stream.runForEachArray((framed) =>
          Effect.sync(() => {
            const t = now()
            const before = emitted
            emitted += framed.filter((f) => !Hit.isMalformed(f)).length
            // A chunk is out when its last hit is.
            for (let c = Math.floor(before / perBatch); c * perBatch + perBatch <= emitted; c++) {
              if (c * perBatch + perBatch > before) delays.push(t - pushed[c])
            }
          })
        ),
        Effect.forkChild
      )
      const fiber = yield* consume
      for (const chunk of chunks) {
        pushed.push(now())
        Queue.offerUnsafe(queue, chunk)
        yield* Effect.sleep(1)
      }
      yield* Queue.end(queue)
      yield* Fiber.join(fiber)
      return delays
    })
  )
}

/** The same for the naive client, fed on the same 1 ms timer. */
const naiveDelays = (chunks: ReadonlyArray<Uint8Array>, perBatch: number) => {
  const pushed: Array<number> = []
  return new Promise<Array<number>>((resolve) => {
    const gunzip = createGunzip()
    const delays: Array<number> = []
    let emitted = 0
    gunzip.on(
      "data",
      Pipelines.naiveRecords(() => {
        emitted++
        if (emitted % perBatch === 0) delays.push(now() - pushed[emitted / perBatch - 1])
      })
    )
    let i = 0
    const feed = () => {
      if (i === chunks.length) return resolve(delays)
      pushed.push(now())
      gunzip.write(chunks[i++])
      Effect.runFork(Effect.andThen(Effect.sleep(1), Effect.sync(feed)))
    }
    feed()
  })
}

/**
 * @since 0.1.0
 */
export const latency = async (sizes: Sizes, log: (s: string) => void): Promise<Array<Row>> => {
  // 10,000 hits/s as a socket delivers it: a flushed chunk of 10 hits every millisecond.
  const perBatch = 10
  const batches = Math.round((sizes.latencySeconds * 10_000) / perBatch)
  const chunks = await flushedChunks(batches, perBatch)
  // A p99 is the worst 1%: a single round was decided by which side met a full collection or
  // the JIT compiler first (p99 from 0.6 to 23 ms for either side on this VM). So both warm up,
  // the order alternates and the row shows every round. No forced collection between rounds: after
  // one, V8 ran a full collection every ~500 ms for both sides (p99 ~20 ms either way).
  const warmUp = await flushedChunks(Math.min(batches, 500), perBatch)
  await hitstreamDelays(warmUp, perBatch)
  await naiveDelays(warmUp, perBatch)
  const h: Array<Array<number>> = []
  const b: Array<Array<number>> = []
  for (let r = 0; r < sizes.rounds; r++) {
    const hitstreamFirst = r % 2 === 0
    for (const side of hitstreamFirst ? ["h", "b"] : ["b", "h"]) {
      if (side === "h") h.push(await hitstreamDelays(chunks, perBatch))
      else b.push(await naiveDelays(chunks, perBatch))
    }
    log(
      `latency round ${r + 1}: p99 hitstream ${percentile(h[r], 99).toFixed(2)} ms, naive ${percentile(b[r], 99).toFixed(2)} ms (${h[r].length} chunks)`
    )
  }
  return [50, 99].map((p) => ({
    figure: `added latency p${p}, 10,000 hits/s`,
    unit: "ms",
    hitstream: h.map((delays) => percentile(delays, p)),
    baseline: b.map((delays) => percentile(delays, p)),
    better: "lower" as const,
    target: p === 99 ? "<= baseline + 1 ms" : "",
    note: "chunk arrival to its last hit emitted, 10-hit gzip-flushed chunks every 1 ms; warmed up, order alternating"
  }))
}
