/**
 * The hit stream: every slot's connection, decoded, deduplicated and merged, for months.
 *
 * For each of `connections` slots, a loop: one attempt (`SlotAttempt`: connect, decode, drop
 * repeats, hand hits to a bounded queue); when it ends, ask core's `ReconnectPolicy` how long to
 * wait (never less than `minReconnectDelay` after the loss, never less than a 429's or 503's
 * `Retry-After`) and try again. The stream ends only on a fatal error (typed, saying what to
 * fix) or when the consumer stops.
 *
 * Every slot fiber is supervised: a defect (a bug, or a library throwing where it should fail)
 * is logged with its cause and fails the stream with `LiveStreamDefect`. A process is never
 * left running with a dead slot. `health` judges the slots for a probe.
 *
 * It never closes a healthy connection on its own: token refreshes happen only when a slot
 * connects. Stopping (`stop`, or the consumer ending the stream) closes the connections and
 * journals a real end, so a restart waits only what is left of the minimum.
 *
 * @since 0.1.0
 */
import { type Config, Dedup, type Hit, ReconnectPolicy } from "@hitstream/core"
import {
  Cause,
  Clock,
  Context,
  DateTime,
  Duration,
  Effect,
  Fiber,
  Layer,
  Metric,
  Queue,
  Schedule,
  Schema,
  Stream,
  type SubscriptionRef
} from "effect"
import { Connection, type RedirectRejected } from "./Connection.ts"
import * as ConnectionJournal from "./ConnectionJournal.ts"
import { metrics, outcomeOf } from "./LiveStreamMetrics.ts"
import { LiveStreamConfig } from "./LiveStreamConfig.ts"
import type { NetworkRejected } from "./Network.ts"
import * as SlotAttempt from "./SlotAttempt.ts"
import { SlotLease } from "./SlotLease.ts"
import * as Slots from "./SlotStatus.ts"
import { type AuthError, TokenProvider } from "./TokenProvider.ts"

export {
  /** @since 0.1.0 */
  metrics
}

/**
 * @since 0.1.0
 */
export type SlotState = Slots.SlotState

/**
 * @since 0.1.0
 */
export type SlotStatus = Slots.SlotStatus

/**
 * @since 0.1.0
 */
export type Counters = Slots.Counters

/**
 * @since 0.1.0
 */
export type Health = Slots.Health

/**
 * Judges the slots at `now`: unhealthy when a slot failed, has been connecting past the
 * connect timeout, or is waiting well past its planned reconnect. Pure.
 *
 * @since 0.1.0
 */
export const health = Slots.health

/**
 * A slot's fiber died of a defect: a bug, or a library that threw where it should have failed.
 * The stream stops rather than run on with a dead slot; `cause` is what was thrown.
 *
 * @since 0.1.0
 */
export class LiveStreamDefect extends Schema.TaggedError<LiveStreamDefect>()("LiveStreamDefect", {
  slot: Schema.Number,
  cause: Schema.Defect(),
  message: Schema.String
}) {}

/**
 * Why the stream stopped: each says what to fix.
 *
 * @since 0.1.0
 */
export type LiveStreamError =
  | ReconnectPolicy.StreamFatalError
  | RedirectRejected
  | AuthError
  | NetworkRejected
  | LiveStreamDefect

/**
 * @since 0.1.0
 */
export class LiveStream extends Context.Service<
  LiveStream,
  {
    /** Every hit once, from every slot. Run it once at a time: the slots are its connections. */
    readonly hits: Stream.Stream<Hit.Hit, LiveStreamError>
    /** The validated configuration it runs with (for a status page: slots, the minimum delay). */
    readonly config: Config.ClientConfig
    /** Per-slot state, published on every transition (its counts are as of that moment). */
    readonly status: SubscriptionRef.SubscriptionRef<ReadonlyArray<SlotStatus>>
    /** Per-slot state with the counts as of now. */
    readonly slots: Effect.Effect<ReadonlyArray<SlotStatus>>
    /** Totals, read on demand (hit counts change too fast to publish each one). */
    readonly counters: Effect.Effect<Counters>
    /** The slots judged now (see `health`), for a probe such as `/healthz`. */
    readonly health: Effect.Effect<Health>
    /**
     * Ends `hits` gracefully: the connections close (their ends journaled), the hits already
     * received are still emitted, then the stream completes. For shutdown on a signal, a limit
     * or a deadline. It is remembered: a `hits` run after it completes at once.
     */
    readonly stop: Effect.Effect<void>
  }
>()("@hitstream/client/LiveStream") {}

/**
 * @since 0.1.0
 */
export const layer: Layer.Layer<
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
    const lease = yield* SlotLease
    const board = yield* Slots.makeBoard(config.connections)
    const attempt = SlotAttempt.make({
      config,
      connection,
      journal,
      board,
      dedup: new Dedup.Dedup(config.dedupCapacity)
    })
    // A token given as is cannot be refreshed: a 401 to it is fatal at once.
    const policy: ReconnectPolicy.Options = {
      ...config.policy,
      staticToken: config.auth._tag === "StaticToken"
    }
    const short = ReconnectPolicy.shortDelayWarning(policy)
    if (short !== undefined) yield* Effect.logWarning(short)

    // The delay is measured from the loss, not from whenever the bookkeeping after it ended.
    const sleepUntil = (at: number) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) => Effect.sleep(Math.max(0, at - now)))

    // After a restart, the 60-second rule still holds: wait what the journal says is left.
    const waitOnStart = Effect.fn("LiveStream.waitOnStart")(function* (slot: number) {
      const last = yield* journal.last(slot)
      const startAt = yield* Clock.currentTimeMillis
      const remaining = ConnectionJournal.waitOnStart(last, policy, startAt)
      if (remaining <= 0 || last === undefined) return
      const ago = Math.round((startAt - last.at) / 1000)
      const minimum = Math.round(policy.minReconnectDelay / 1000)
      const reason = last.alive
        ? `slot ${slot} was streaming ${ago} s ago when its process stopped without closing it; waiting the full ${minimum} s minimum`
        : `the last connection of slot ${slot} ended ${ago} s ago, before a restart; waiting out the ${minimum} s minimum`
      yield* Effect.logWarning(`slot ${slot}: ${reason}, ${Math.ceil(remaining / 1000)} s to go`)
      yield* board.set(slot, {
        _tag: "Waiting",
        until: DateTime.makeUnsafe(startAt + remaining),
        reason,
        consecutiveFailures: 0,
        lostAt: undefined
      })
      yield* sleepUntil(startAt + remaining)
    })

    const runSlot = <E>(slot: number, queue: Queue.Queue<Hit.Hit, E>) =>
      Effect.gen(function* () {
        const step = yield* Schedule.toStep(ReconnectPolicy.schedule(policy))
        // When the slot last lost a stream, and whether that gap was already warned about.
        let lostAt: number | undefined
        let gapWarned = false
        yield* waitOnStart(slot)
        while (true) {
          const { end, streamedFrom } = yield* attempt(slot, queue, lostAt)
          const lossAt = yield* Clock.currentTimeMillis
          yield* journal.record(slot, { at: lossAt, alive: false })
          yield* Metric.update(Metric.withAttributes(metrics.ends, { outcome: outcomeOf(end) }), 1)
          if (streamedFrom !== undefined) {
            lostAt = lossAt
            gapWarned = false
          }
          const [decision, delay] = yield* step(lossAt, end).pipe(
            Effect.catchCause((cause) =>
              Cause.hasFails(cause) && !Cause.isDone(Cause.squash(cause))
                ? Effect.failCause(cause as Cause.Cause<ReconnectPolicy.StreamFatalError>)
                : Effect.die("the reconnect policy ended")
            )
          )
          if (decision.refreshToken) yield* tokens.invalidate
          const delayMillis = Duration.toMillis(delay)
          const until = lossAt + delayMillis
          yield* Metric.update(metrics.reconnectDelay, delayMillis / 1000)
          if (decision.retryAfterCapped) {
            yield* Effect.logWarning(
              `slot ${slot}: the server asked to retry after ${Duration.format(decision.retryAfter!)}; waiting the ${Duration.format(Duration.millis(ReconnectPolicy.maxRetryAfterMillis))} most instead`
            )
          }
          const gapWarning =
            lostAt === undefined ? undefined : ReconnectPolicy.gapWarning(policy, until - lostAt)
          if (gapWarning !== undefined && !gapWarned) {
            gapWarned = true
            yield* Effect.logWarning(`slot ${slot}: ${gapWarning}`)
          }
          yield* board.set(slot, {
            _tag: "Waiting",
            until: DateTime.makeUnsafe(until),
            reason: decision.reason,
            consecutiveFailures: decision.consecutiveFailures,
            lostAt: lostAt === undefined ? undefined : DateTime.makeUnsafe(lostAt)
          })
          yield* Effect.logInfo(
            `slot ${slot}: connection ended (${decision.reason}); reconnecting in ${(delayMillis / 1000).toFixed(1)} s` +
              (decision.consecutiveFailures > 1 ? ` (${decision.consecutiveFailures} failures in a row)` : "")
          )
          yield* sleepUntil(until)
        }
      }).pipe(Effect.annotateLogs({ slot }))

    // A slot's end is the stream's end: a typed error as it is, a defect as LiveStreamDefect,
    // logged with its cause. An interruption is a stop, not an end.
    const supervise = (slot: number, queue: Queue.Queue<Hit.Hit, LiveStreamError | Cause.Done>) =>
      // Open only while this process holds the slot (always, unless a fleet provides leases).
      lease.hold(slot, runSlot(slot, queue)).pipe(
        Effect.catchCause((cause) =>
          Effect.gen(function* () {
            if (Cause.hasInterruptsOnly(cause)) return yield* Effect.failCause(cause)
            const failure = Cause.findErrorOption(cause)
            let error: LiveStreamError
            if (failure._tag === "Some") {
              error = failure.value
            } else {
              const defect = Cause.squash(cause)
              error = new LiveStreamDefect({
                slot,
                cause: defect,
                message: `slot ${slot} stopped on an unexpected error: ${defect instanceof Error ? defect.message : String(defect)}. This is a bug in hitstream or a library it uses; please report it with the log above`
              })
              yield* Effect.logError(`slot ${slot}: unexpected error, stopping the stream`, cause)
            }
            yield* board.set(slot, { _tag: "Failed", message: error.message })
            yield* Queue.fail(queue, error)
          })
        ),
        // A slot stopped mid-wait (another slot's fatal end, a stop) is Idle, or health would
        // report it stuck past its reconnect; a slot that failed keeps saying why.
        Effect.onInterrupt(() =>
          Effect.suspend(() =>
            board.snapshot()[slot].state._tag === "Failed" ? Effect.void : board.set(slot, { _tag: "Idle" })
          )
        )
      )

    let stopped = false
    const running = new Set<Effect.Effect<void>>()
    const hits = Stream.unwrap(
      Effect.gen(function* () {
        if (stopped) return Stream.empty
        const queue = yield* Queue.bounded<Hit.Hit, LiveStreamError | Cause.Done>(config.bufferSize)
        const fibers = yield* Effect.forEach(board.counts, (_, slot) =>
          Effect.forkScoped(supervise(slot, queue))
        )
        // Stopping closes the connections first (each journals its end), then ends the queue:
        // what it holds still reaches the consumer.
        const stopThis = Effect.forEach(fibers, Fiber.interrupt, { discard: true }).pipe(
          Effect.andThen(Queue.end(queue)),
          Effect.andThen(
            Effect.forEach(board.counts, (_, slot) => board.set(slot, { _tag: "Idle" }), { discard: true })
          )
        )
        running.add(stopThis)
        yield* Effect.addFinalizer(() => Effect.sync(() => running.delete(stopThis)))
        // A stop that came while the slots were starting did not see them: honour it now.
        if (stopped) yield* stopThis
        return Stream.fromQueue(queue)
      })
    )

    return LiveStream.of({
      hits,
      config,
      status: board.status,
      slots: Effect.sync(board.snapshot),
      counters: Effect.sync(() => ({ ...board.totals })),
      health: Effect.map(Clock.currentTimeMillis, (now) => Slots.health(board.snapshot(), now, config)),
      stop: Effect.suspend(() => {
        stopped = true
        return Effect.forEach([...running], (stop) => stop, { discard: true })
      })
    })
  })
)
