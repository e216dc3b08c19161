/**
 * One connection attempt of one slot, from "connecting" to the `ConnectionEnd` the reconnect
 * policy decides on: open a `Connection` (bounded by `connectTimeout`), decode its body with
 * core's `Framing`, drop repeats with the shared `Dedup`, and hand the hits to the stream's
 * bounded queue.
 *
 * While a stream is open, a heartbeat in the journal marks it alive (a `kill -9` runs no
 * finalizer, so a restart must assume it died a moment ago). When the attempt is interrupted
 * (the consumer stopped: a signal, a limit, a deadline), its finalizer records a real end
 * first, so that a restart waits only what is left of the minimum.
 *
 * A slow consumer pauses reading (the bounded queue fills, the socket stops being read, TCP
 * pushes back) rather than growing memory, and the optional stall timeout counts only time
 * spent waiting for bytes, not time spent waiting for the consumer.
 *
 * @since 0.1.0
 */
import { Dedup, Framing, type Hit, ReconnectPolicy } from "@hitstream/core"
import { Clock, DateTime, Duration, Effect, Exit, Metric, Queue, Schedule, Stream } from "effect"
import type { Connection, ConnectionLost, RedirectRejected } from "./Connection.ts"
import type { ConnectionJournal } from "./ConnectionJournal.ts"
import type { LiveStreamConfig } from "./LiveStreamConfig.ts"
import type { NetworkRejected } from "./Network.ts"
import { metrics } from "./LiveStreamMetrics.ts"
import type { Board } from "./SlotStatus.ts"
import type { AuthError } from "./TokenProvider.ts"

/**
 * How an attempt ended, and when its stream started (if it got one).
 *
 * @since 0.1.0
 */
export interface Outcome {
  readonly end: ReconnectPolicy.ConnectionEnd
  readonly streamedFrom: number | undefined
}

/**
 * What an attempt works with: the stream's services and its board.
 *
 * @since 0.1.0
 */
export interface Services {
  readonly config: LiveStreamConfig["Service"]
  readonly connection: Connection["Service"]
  readonly journal: ConnectionJournal["Service"]
  readonly dedup: Dedup.Dedup
  readonly board: Board
}

const heartbeatEvery = Duration.seconds(5)

// What the stall timeout fails the socket bytes with: no bytes for `stallTimeout`.
const stalled = { _tag: "Stalled" } as const

/**
 * Runs attempts for the slots of one stream. `lostAt` is when the slot last lost a stream,
 * for the gap shown when the next one starts.
 *
 * @since 0.1.0
 */
export const make =
  ({ config, connection, journal, dedup, board }: Services) =>
  <E>(
    slot: number,
    queue: Queue.Queue<Hit.Hit, E>,
    lostAt: number | undefined
  ): Effect.Effect<Outcome, RedirectRejected | AuthError | NetworkRejected> =>
    Effect.gen(function* () {
      const counts = board.counts[slot]
      counts.attempts++
      board.totals.attempts++
      yield* Metric.update(metrics.attempts, 1)
      yield* board.set(slot, {
        _tag: "Connecting",
        attempt: counts.attempts,
        since: DateTime.makeUnsafe(yield* Clock.currentTimeMillis)
      })
      // Registered first, so that it runs last: after the heartbeat has stopped. Only an
      // interruption needs it; every other end is recorded by the slot's loop.
      yield* Effect.addFinalizer((exit) =>
        Exit.hasInterrupts(exit)
          ? Effect.flatMap(Clock.currentTimeMillis, (at) => journal.record(slot, { at, alive: false }))
          : Effect.void
      )

      const connectTimeout = config.connectTimeout
      const opened = yield* Effect.result(connection.open(slot).pipe(Effect.timeoutOption(connectTimeout)))
      if (opened._tag === "Failure") {
        const error = opened.failure
        switch (error._tag) {
          case "ConnectionRefused":
            // A repeat of the same protocol error was logged in full the first time.
            yield* (error.repeat === true ? Effect.logDebug : Effect.logWarning)(
              `slot ${slot}: ${error.message}`
            )
            return { end: error.end, streamedFrom: undefined }
          case "AuthError":
            if (error.fatal) return yield* Effect.fail(error)
            yield* Effect.logWarning(`slot ${slot}: ${error.message}`)
            return {
              end: ReconnectPolicy.ConnectionEnd.NetworkError({ streamedMillis: 0, message: error.message }),
              streamedFrom: undefined
            }
          default:
            return yield* Effect.fail(error)
        }
      }
      if (opened.success._tag === "None") {
        const message = `no answer within ${Duration.format(connectTimeout)} (connectTimeout)`
        yield* Effect.logWarning(`slot ${slot}: ${message}`)
        return {
          end: ReconnectPolicy.ConnectionEnd.NetworkError({ streamedMillis: 0, message }),
          streamedFrom: undefined
        }
      }
      const body = opened.success.value
      const startedAt = yield* Clock.currentTimeMillis
      const gapMillis = lostAt === undefined ? undefined : startedAt - lostAt
      if (gapMillis !== undefined) {
        counts.lastGapSeconds = gapMillis / 1000
        yield* Metric.update(Metric.withAttributes(metrics.gap, { slot: String(slot) }), gapMillis / 1000)
      }
      yield* board.set(slot, {
        _tag: "Streaming",
        since: DateTime.makeUnsafe(startedAt),
        url: body.url,
        gapMillis
      })
      yield* Effect.logInfo(
        `slot ${slot}: streaming from ${body.url}` +
          (gapMillis === undefined ? "" : ` after ${(gapMillis / 1000).toFixed(1)} s without a stream`)
      )
      yield* Effect.forkScoped(
        Effect.gen(function* () {
          yield* journal.record(slot, { at: yield* Clock.currentTimeMillis, alive: true })
        }).pipe(Effect.repeat(Schedule.spaced(heartbeatEvery)))
      )

      let delivered = 0
      // Socket bytes are counted as they pass (no Effect per chunk) and reported per batch.
      let bytesSeen = 0
      // A batch is accounted for in plain code, and the Effect it returns is the hand-over alone.
      // Wrapped in an `Effect.gen` per batch (metrics, clock, hand-over), each batch of hits stayed
      // reachable long after the sink had written it: in `hitstream run`, about 6 KB per hit was
      // promoted to the old generation (1.2 GB per 200,000 hits, a full collection every ~1,300
      // hits); accounted for here, 5 to 25 MB (see docs/benchmarks.md, third round).
      const context = yield* Effect.context<never>()
      const clock = yield* Clock.Clock
      const report = (malformed: ReadonlyArray<Hit.MalformedRecord>) =>
        Effect.forEach(
          malformed,
          (record) =>
            Effect.logWarning(
              `slot ${slot}: skipped a malformed record (${record.reason}): ${record.message}`,
              {
                preview: record.preview,
                length: record.length
              }
            ),
          { discard: true }
        )
      const deliver = (framed: ReadonlyArray<Framing.Framed>): Effect.Effect<void> => {
        const { fresh, malformed, duplicates } = Dedup.classify(dedup, framed)
        const bytes = bytesSeen
        bytesSeen = 0
        board.totals.bytes += bytes
        board.totals.malformed += malformed.length
        board.totals.duplicates += duplicates
        counts.hits += fresh.length
        board.totals.hits += fresh.length
        delivered += fresh.length
        metrics.bytes.updateUnsafe(bytes, context)
        if (malformed.length > 0) metrics.malformed.updateUnsafe(malformed.length, context)
        if (duplicates > 0) metrics.duplicates.updateUnsafe(duplicates, context)
        let handOver: Effect.Effect<void> = Effect.void
        if (fresh.length > 0) {
          const received = fresh[fresh.length - 1].receivedTimeGMT
          if (received !== undefined) {
            const lag = Math.max(0, clock.currentTimeMillisUnsafe() / 1000 - received)
            counts.lagSeconds = lag
            metrics.lag.updateUnsafe(lag, context)
          }
          metrics.hits.updateUnsafe(fresh.length, context)
          handOver = Queue.offerAll(queue, fresh)
        }
        return malformed.length === 0 ? handOver : Effect.andThen(report(malformed), handOver)
      }

      // The stall timeout times each pull of socket bytes, ahead of the read-ahead: while the
      // consumer is slow, the read-ahead is full and nothing pulls, so that time is not counted.
      const stallTimeout = config.stallTimeout
      const socket = Stream.mapArray(body.bytes, (chunks) => {
        for (let i = 0; i < chunks.length; i++) bytesSeen += chunks[i].length
        return chunks
      })
      const consume = (
        stallTimeout === undefined
          ? socket
          : Stream.timeoutOrElse(socket, { duration: stallTimeout, orElse: () => Stream.fail(stalled) })
      ).pipe(
        // Inflating runs ahead of parsing (zlib on its own thread), by a bounded number of
        // inflated bytes; a record past maxRecordBytes is skipped as it streams in, so a gzip
        // bomb costs at most the limit.
        (bytes) => Framing.gunzipSplit(bytes, { maxRecordBytes: config.maxRecordBytes }),
        Framing.parseRecords,
        Stream.runForEachArray(deliver)
      )

      const ended = yield* Effect.result(consume)
      const endedAt = yield* Clock.currentTimeMillis
      const streamedMillis = Math.max(1, endedAt - startedAt)
      const hits = delivered
      let end: ReconnectPolicy.ConnectionEnd
      if (ended._tag === "Success") {
        end = ReconnectPolicy.ConnectionEnd.Ended({ streamedMillis, hits })
      } else if (ended.failure === stalled) {
        end = ReconnectPolicy.ConnectionEnd.Stalled({
          streamedMillis,
          idleMillis: Duration.toMillis(stallTimeout!),
          hits
        })
      } else {
        const error = ended.failure as ConnectionLost | Framing.GzipError
        end = ReconnectPolicy.ConnectionEnd.NetworkError({ streamedMillis, message: error.message, hits })
      }
      return { end, streamedFrom: startedAt }
    }).pipe(Effect.scoped, Effect.withSpan("LiveStream.attempt", { attributes: { slot } }))
