/**
 * The hit stream: every slot's connection, decoded, deduplicated and merged, for months.
 *
 * For each of `connections` slots, a loop: open a `Connection`, decode its body with core's
 * `Framing`, drop repeats with one `Dedup` shared by all slots, hand the hits to a bounded queue;
 * when the connection ends, ask core's `ReconnectPolicy` how long to wait (never less than
 * `minReconnectDelay` after the loss) and try again. The stream ends only on a fatal error
 * (typed, saying what to fix) or when the consumer stops.
 *
 * It never closes a healthy connection on its own: token refreshes happen only when a slot
 * connects, a slow consumer pauses reading (the bounded queue fills, the socket stops being
 * read, TCP pushes back) rather than growing memory, and the optional stall timeout counts only
 * time spent waiting for bytes, not time spent waiting for the consumer.
 *
 * @since 0.1.0
 */
import { Dedup, Framing, Hit, ReconnectPolicy } from "@hitstream/core"
import {
  Cause,
  Clock,
  Context,
  Duration,
  Effect,
  Fiber,
  Layer,
  Metric,
  Queue,
  Schedule,
  Stream,
  SubscriptionRef
} from "effect"
import { Connection, type ConnectionLost, type RedirectRejected } from "./Connection.ts"
import * as ConnectionJournal from "./ConnectionJournal.ts"
import { LiveStreamConfig } from "./LiveStreamConfig.ts"
import { type AuthError, TokenProvider } from "./TokenProvider.ts"

/**
 * Why the stream stopped: each says what to fix.
 *
 * @since 0.1.0
 */
export type LiveStreamError = ReconnectPolicy.StreamFatalError | RedirectRejected | AuthError

/**
 * What a slot is doing, for operators.
 *
 * @since 0.1.0
 */
export type SlotState =
  | { readonly _tag: "Idle" }
  | { readonly _tag: "Connecting"; readonly attempt: number; readonly since: number }
  | { readonly _tag: "Streaming"; readonly since: number; readonly url: string }
  | {
      readonly _tag: "Waiting"
      readonly until: number
      readonly reason: string
      readonly consecutiveFailures: number
    }
  | { readonly _tag: "Failed"; readonly message: string }

/**
 * @since 0.1.0
 */
export interface SlotStatus {
  readonly slot: number
  readonly state: SlotState
  readonly attempts: number
  readonly hits: number
  /** Seconds between now and the `receivedTimeGMT` of the slot's latest hit. */
  readonly lagSeconds: number | undefined
}

/**
 * Totals since the stream started.
 *
 * @since 0.1.0
 */
export interface Counters {
  readonly hits: number
  readonly bytes: number
  readonly malformed: number
  readonly duplicates: number
  readonly attempts: number
}

/**
 * The metrics, by name. Counters are cumulative; the lag and delay are gauges.
 *
 * @since 0.1.0
 */
export const metrics = {
  attempts: Metric.counter("hitstream_connection_attempts_total", {
    description: "Connection attempts, by outcome (streamed, status code, network, stalled)"
  }),
  hits: Metric.counter("hitstream_hits_total", { description: "Hits delivered (after dedup)" }),
  bytes: Metric.counter("hitstream_bytes_total", { description: "Compressed body bytes received" }),
  malformed: Metric.counter("hitstream_malformed_records_total", {
    description: "Records skipped because they were not valid JSON or not a hit"
  }),
  duplicates: Metric.counter("hitstream_duplicates_dropped_total", {
    description: "Hits dropped as repeats within the dedup window"
  }),
  lag: Metric.gauge("hitstream_lag_seconds", {
    description: "Now minus the receivedTimeGMT of the latest hit"
  }),
  reconnectDelay: Metric.gauge("hitstream_reconnect_delay_seconds", {
    description: "The delay the reconnect policy chose after the latest loss"
  })
}

const outcomeOf = (end: ReconnectPolicy.ConnectionEnd): string =>
  end._tag === "HttpStatus"
    ? String(end.status)
    : end._tag === "Ended"
      ? "ended"
      : end._tag === "Stalled"
        ? "stalled"
        : "network"

/**
 * @since 0.1.0
 */
export class LiveStream extends Context.Service<
  LiveStream,
  {
    /** Every hit once, from every slot. Run it once at a time: the slots are its connections. */
    readonly hits: Stream.Stream<Hit.Hit, LiveStreamError>
    /** Per-slot state, published on every transition (its counts are as of that moment). */
    readonly status: SubscriptionRef.SubscriptionRef<ReadonlyArray<SlotStatus>>
    /** Per-slot state with the counts as of now. */
    readonly slots: Effect.Effect<ReadonlyArray<SlotStatus>>
    /** Totals, read on demand (hit counts change too fast to publish each one). */
    readonly counters: Effect.Effect<Counters>
    /**
     * Ends `hits` gracefully: the connections close, the hits already received are still
     * emitted, then the stream completes. For shutdown on a signal, a limit or a deadline.
     */
    readonly stop: Effect.Effect<void>
  }
>()("@hitstream/client/LiveStream") {
  static readonly layer: Layer.Layer<
    LiveStream,
    never,
    LiveStreamConfig | Connection | TokenProvider | ConnectionJournal.ConnectionJournal
  > = Layer.effect(
    LiveStream,
    Effect.gen(function* () {
      const config = yield* LiveStreamConfig
      const connection = yield* Connection
      const tokens = yield* TokenProvider
      const journal = yield* ConnectionJournal.ConnectionJournal
      const dedup = new Dedup.Dedup(config.dedupCapacity)
      const slots = Array.from({ length: config.connections }, (_, slot) => slot)
      const perSlot = slots.map(() => ({ attempts: 0, hits: 0, lagSeconds: undefined as number | undefined }))
      const totals = { hits: 0, bytes: 0, malformed: 0, duplicates: 0, attempts: 0 }
      const states: Array<SlotState> = slots.map(() => ({ _tag: "Idle" }))
      const status = yield* SubscriptionRef.make<ReadonlyArray<SlotStatus>>([])
      const snapshot = (): ReadonlyArray<SlotStatus> =>
        slots.map((slot) => ({ slot, state: states[slot], ...perSlot[slot] }))
      const setState = (slot: number, state: SlotState) =>
        Effect.suspend(() => {
          states[slot] = state
          return SubscriptionRef.set(status, snapshot())
        })

      const attempt = (slot: number, queue: Queue.Queue<Hit.Hit, LiveStreamError | Cause.Done>) =>
        Effect.gen(function* () {
          perSlot[slot].attempts++
          totals.attempts++
          yield* setState(slot, {
            _tag: "Connecting",
            attempt: perSlot[slot].attempts,
            since: yield* Clock.currentTimeMillis
          })
          const opened = yield* Effect.result(connection.open(slot))
          if (opened._tag === "Failure") {
            const error = opened.failure
            switch (error._tag) {
              case "ConnectionRefused":
                yield* Effect.logWarning(`slot ${slot}: ${error.message}`)
                return error.end
              case "AuthError":
                if (error.fatal) return yield* Effect.fail(error)
                yield* Effect.logWarning(`slot ${slot}: ${error.message}`)
                return ReconnectPolicy.ConnectionEnd.NetworkError({
                  streamedMillis: 0,
                  message: error.message
                })
              default:
                return yield* Effect.fail(error)
            }
          }
          const body = opened.success
          const startedAt = yield* Clock.currentTimeMillis
          yield* setState(slot, { _tag: "Streaming", since: startedAt, url: body.url })
          yield* Effect.logInfo(`slot ${slot}: streaming from ${body.url}`)
          // A heartbeat in the journal: a process killed while streaming runs no finalizer.
          yield* Effect.forkScoped(
            Effect.gen(function* () {
              yield* journal.record(slot, { at: yield* Clock.currentTimeMillis, alive: true })
            }).pipe(Effect.repeat(Schedule.spaced(Duration.seconds(5))))
          )

          let lastActivity = startedAt
          let blocked = false
          const deliver = (framed: ReadonlyArray<Framing.Framed>) =>
            Effect.gen(function* () {
              const fresh: Array<Hit.Hit> = []
              let malformed = 0
              let duplicates = 0
              for (let i = 0; i < framed.length; i++) {
                const record = framed[i]
                if (Hit.isMalformed(record)) {
                  malformed++
                  yield* Effect.logWarning(
                    `slot ${slot}: skipped a malformed record (${record.reason}): ${record.message}`,
                    {
                      preview: record.preview,
                      length: record.length
                    }
                  )
                } else if (dedup.admitHit(record)) {
                  fresh.push(record)
                } else {
                  duplicates++
                }
              }
              totals.malformed += malformed
              totals.duplicates += duplicates
              if (malformed > 0) yield* Metric.update(metrics.malformed, malformed)
              if (duplicates > 0) yield* Metric.update(metrics.duplicates, duplicates)
              if (fresh.length === 0) return
              const now = yield* Clock.currentTimeMillis
              const received = fresh[fresh.length - 1].receivedTimeGMT
              if (received !== undefined) {
                const lag = Math.max(0, now / 1000 - received)
                perSlot[slot].lagSeconds = lag
                yield* Metric.update(metrics.lag, lag)
              }
              perSlot[slot].hits += fresh.length
              totals.hits += fresh.length
              yield* Metric.update(metrics.hits, fresh.length)
              blocked = true
              yield* Queue.offerAll(queue, fresh)
              blocked = false
              lastActivity = yield* Clock.currentTimeMillis
            })

          const consume = body.bytes.pipe(
            Stream.tap((chunk) =>
              Effect.flatMap(Clock.currentTimeMillis, (now) => {
                lastActivity = now
                totals.bytes += chunk.length
                return Metric.update(metrics.bytes, chunk.length)
              })
            ),
            // Small bounded buffers let the socket be read and zlib inflate (on its own thread)
            // while the previous chunk's records are parsed: measured +10% end to end.
            Stream.buffer({ capacity: 16 }),
            // Inflated pieces go straight into the splitter: a record past maxRecordBytes is
            // skipped as it streams in, so a gzip bomb costs at most the limit.
            (bytes) => Framing.gunzipSplit(bytes, { maxRecordBytes: config.maxRecordBytes }),
            Stream.buffer({ capacity: 16 }),
            Framing.parseRecords,
            Stream.runForEachArray(deliver),
            Effect.as<"ended">("ended")
          )

          const stallTimeout =
            config.stallTimeout === undefined ? undefined : Duration.toMillis(config.stallTimeout)
          const watchdog =
            stallTimeout === undefined
              ? Effect.never
              : Effect.gen(function* () {
                  while (true) {
                    yield* Effect.sleep(Math.max(10, Math.min(1000, stallTimeout / 4)))
                    const now = yield* Clock.currentTimeMillis
                    if (!blocked && now - lastActivity >= stallTimeout) return "stalled" as const
                  }
                })

          const ended = yield* Effect.result(Effect.raceFirst(consume, watchdog))
          const endedAt = yield* Clock.currentTimeMillis
          const streamedMillis = Math.max(1, endedAt - startedAt)
          if (ended._tag === "Success") {
            return ended.success === "stalled"
              ? ReconnectPolicy.ConnectionEnd.Stalled({ streamedMillis, idleMillis: endedAt - lastActivity })
              : ReconnectPolicy.ConnectionEnd.Ended({ streamedMillis })
          }
          const error: ConnectionLost | Framing.GzipError = ended.failure
          return ReconnectPolicy.ConnectionEnd.NetworkError({ streamedMillis, message: error.message })
        }).pipe(Effect.scoped, Effect.withSpan("LiveStream.attempt", { attributes: { slot } }))

      const runSlot = (slot: number, queue: Queue.Queue<Hit.Hit, LiveStreamError | Cause.Done>) =>
        Effect.gen(function* () {
          const step = yield* Schedule.toStep(ReconnectPolicy.schedule(config.policy))
          const last = yield* journal.last(slot)
          const startAt = yield* Clock.currentTimeMillis
          const remaining = ConnectionJournal.waitOnStart(last, config.policy, startAt)
          if (remaining > 0) {
            const ago = Math.round((startAt - last!.at) / 1000)
            const minimum = Math.round(config.policy.minReconnectDelay / 1000)
            const reason = last!.alive
              ? `slot ${slot} was streaming ${ago} s ago when its process stopped without closing it; waiting the full ${minimum} s minimum`
              : `the last connection of slot ${slot} ended ${ago} s ago, before a restart; waiting out the ${minimum} s minimum`
            yield* Effect.logWarning(`slot ${slot}: ${reason}, ${Math.ceil(remaining / 1000)} s to go`)
            yield* setState(slot, {
              _tag: "Waiting",
              until: startAt + remaining,
              reason,
              consecutiveFailures: 0
            })
            yield* Effect.sleep(remaining)
          }
          while (true) {
            const end = yield* attempt(slot, queue)
            const lossAt = yield* Clock.currentTimeMillis
            yield* journal.record(slot, { at: lossAt, alive: false })
            yield* Metric.update(Metric.withAttributes(metrics.attempts, { outcome: outcomeOf(end) }), 1)
            const [decision, delay] = yield* step(lossAt, end).pipe(
              Effect.catchCause((cause) =>
                Cause.hasFails(cause) && !Cause.isDone(Cause.squash(cause))
                  ? Effect.failCause(cause as Cause.Cause<ReconnectPolicy.StreamFatalError>)
                  : Effect.die("the reconnect policy ended")
              )
            )
            if (decision.refreshToken) yield* tokens.invalidate
            const delayMillis = Duration.toMillis(delay)
            yield* Metric.update(metrics.reconnectDelay, delayMillis / 1000)
            yield* setState(slot, {
              _tag: "Waiting",
              until: lossAt + delayMillis,
              reason: decision.reason,
              consecutiveFailures: decision.consecutiveFailures
            })
            yield* Effect.logInfo(
              `slot ${slot}: connection ended (${decision.reason}); reconnecting in ${(delayMillis / 1000).toFixed(1)} s` +
                (decision.consecutiveFailures > 1
                  ? ` (${decision.consecutiveFailures} failures in a row)`
                  : "")
            )
            yield* Effect.sleep(delay)
          }
        }).pipe(
          Effect.tapError((error) => setState(slot, { _tag: "Failed", message: error.message })),
          Effect.catch((error) => Queue.fail(queue, error)),
          Effect.annotateLogs({ slot })
        )

      const running = new Set<Effect.Effect<void>>()
      const hits = Stream.unwrap(
        Effect.gen(function* () {
          const queue = yield* Queue.bounded<Hit.Hit, LiveStreamError | Cause.Done>(config.bufferSize)
          const fibers = yield* Effect.forEach(slots, (slot) => Effect.forkScoped(runSlot(slot, queue)))
          // Stopping closes the connections first, then ends the queue: what it holds still
          // reaches the consumer.
          const stopThis = Effect.forEach(fibers, Fiber.interrupt, { discard: true }).pipe(
            Effect.andThen(Queue.end(queue)),
            Effect.andThen(
              Effect.forEach(slots, (slot) => setState(slot, { _tag: "Idle" }), { discard: true })
            )
          )
          running.add(stopThis)
          yield* Effect.addFinalizer(() => Effect.sync(() => running.delete(stopThis)))
          return Stream.fromQueue(queue)
        })
      )

      yield* SubscriptionRef.set(status, snapshot())
      return LiveStream.of({
        hits,
        status,
        slots: Effect.sync(snapshot),
        counters: Effect.sync(() => ({ ...totals })),
        stop: Effect.suspend(() => Effect.forEach([...running], (stop) => stop, { discard: true }))
      })
    })
  )
}
