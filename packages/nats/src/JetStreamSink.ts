/**
 * Hits into a JetStream stream, each once.
 *
 * Each hit is published to `<subjectPrefix>.<reportSuite>` with the header
 * `Nats-Msg-Id: <hitIdHigh>-<hitIdLow>`, so the server drops the repeats that reconnects, backfill
 * and up to eight publishers send (within the stream's duplicate window). The payload is the
 * record's original text, byte for byte.
 *
 * Publishes are pipelined: up to `maxInFlight` wait for their ack at once, and a write waits when
 * the window is full, so a slow broker slows the stream (and through it the socket) instead of
 * growing memory. A publish that fails (broker lost, leader election, timeout) is retried with
 * backoff until acked; a hit counts as written only once acked, and `flush` (run on shutdown)
 * waits for every outstanding ack. Acks may arrive out of order, so hits may be stored out of the
 * order received; their `receivedTimeGMT` orders them.
 *
 * On start the stream is created, or validated when it exists: its subjects must take the
 * prefix, its replicas must match when asked for, and its duplicate window must cover the
 * backfill window. Anything else is a `NatsConfigError` that says what to change.
 *
 * @since 0.1.0
 */
import { Hit } from "@hitstream/core"
import type { PubAck } from "@nats-io/jetstream"
import { Context, Duration, Effect, Layer, Metric, Queue, Schema, Sink } from "effect"
import { NatsClient } from "./NatsClient.ts"
import { ensureStream, type Options } from "./JetStreamStream.ts"

/**
 * @since 0.1.0
 */
export {
  defaults,
  ensureStream,
  incompatibility,
  type Options,
  optionsFromUrl
} from "./JetStreamStream.ts"

/**
 * The sink cannot write: it gave up waiting for acks on shutdown, or the broker refused a hit
 * for a reason a retry cannot fix.
 *
 * @since 0.1.0
 */
export class JetStreamSinkError extends Schema.TaggedError<JetStreamSinkError>()("JetStreamSinkError", {
  stream: Schema.String,
  message: Schema.String,
  /** Hits not acked when it gave up. */
  unacked: Schema.Number
}) {}

/**
 * @since 0.1.0
 */
export const metrics = {
  inFlight: Metric.gauge("hitstream_nats_inflight_acks", {
    description: "Publishes to JetStream awaiting their ack"
  }),
  published: Metric.counter("hitstream_nats_published_total", {
    description: "Hits acked by JetStream (stored, or dropped by the server as duplicates)"
  }),
  duplicates: Metric.counter("hitstream_nats_duplicates_total", {
    description: "Hits JetStream acked as duplicates (same Nats-Msg-Id within the duplicate window)"
  }),
  retries: Metric.counter("hitstream_nats_publish_retries_total", {
    description: "Publishes retried after a failure (broker lost, timeout, no leader)"
  }),
  latency: Metric.histogram("hitstream_nats_publish_latency_seconds", {
    description: "Time from publish to ack",
    boundaries: Metric.exponentialBoundaries({ start: 0.0005, factor: 2, count: 16 })
  })
}
/**
 * Whether a publish failure is one no retry can fix: a message over the size limit, or a
 * permission the account lacks.
 *
 * @since 0.1.0
 */
export const isPermanent = (e: unknown): boolean =>
  /maximum payload|max_payload|message size exceeds|permissions? violation|authorization violation/i.test(
    (e as { message?: string })?.message ?? ""
  )

/**
 * The subject of a hit: the report suite as one subject token (characters a subject cannot hold
 * become `_`; a hit without one goes to `_unknown`).
 *
 * @since 0.1.0
 */
export const subjectOf = (prefix: string, hit: Hit.Hit): string => {
  const suite = hit.reportSuite
  return `${prefix}.${suite === undefined || suite === "" ? "_unknown" : suite.replace(/[^A-Za-z0-9_-]/g, "_")}`
}

/**
 * The dedup id: `<hitIdHigh>-<hitIdLow>`, or none for a hit without ids.
 *
 * @since 0.1.0
 */
export const messageIdOf = (hit: Hit.Hit): string | undefined =>
  hit.hitIdHigh === undefined || hit.hitIdLow === undefined ? undefined : `${hit.hitIdHigh}-${hit.hitIdLow}`
/**
 * @since 0.1.0
 */
export interface JetStreamSink {
  /** Publishes a batch: returns once every hit is sent and the window has room for more. */
  readonly write: (hits: ReadonlyArray<Hit.Hit>) => Effect.Effect<void, JetStreamSinkError>
  /** Waits for every outstanding ack (at most `drainTimeout`). */
  readonly flush: Effect.Effect<void, JetStreamSinkError>
  /** The same as an Effect `Sink`: writes each chunk, flushes at the end. */
  readonly sink: Sink.Sink<void, Hit.Hit, never, JetStreamSinkError>
  /** Hits acked so far (duplicates included: the server has them). */
  readonly written: () => number
  /** Publishes awaiting their ack right now. */
  readonly inFlight: () => number
}

interface Pending {
  readonly subject: string
  readonly data: Uint8Array
  readonly msgID: string | undefined
  attempts: number
  lastError?: string
}

const encoder = new TextEncoder()

/**
 * Makes the sink in a scope: on release, waits for the outstanding acks.
 *
 * @since 0.1.0
 */
export const make = Effect.fn("JetStreamSink.make")(function* (options: Options) {
  const client = yield* NatsClient
  yield* ensureStream(client.manager, options)
  const js = client.jetstream
  const context = yield* Effect.context<never>()
  for (const counter of [metrics.published, metrics.duplicates, metrics.retries])
    counter.updateUnsafe(0, context)
  const ackTimeout = Duration.toMillis(options.ackTimeout)
  const failed = yield* Queue.unbounded<Pending>()
  let inFlight = 0
  let written = 0
  let fatal: JetStreamSinkError | undefined
  // Retry rounds since the last ack.
  let failing = 0
  let duplicates = 0
  let reported = { written: 0, duplicates: 0 }
  // The writer waits for room: it is resumed once an eighth of the window is free (resuming it
  // for every single ack costs more than the publish), and flush once the window is empty.
  const refillAt = options.maxInFlight - Math.max(1, Math.floor(options.maxInFlight / 8))
  let roomWaiter: (() => void) | undefined
  let emptyWaiters: Array<() => void> = []
  const wake = () => {
    if (roomWaiter !== undefined && inFlight <= refillAt) {
      const w = roomWaiter
      roomWaiter = undefined
      w()
    }
    if (inFlight === 0 && emptyWaiters.length > 0) {
      const woken = emptyWaiters
      emptyWaiters = []
      for (const w of woken) w()
    }
  }
  // Metrics are updated in bulk from the writer, not per ack; latency is sampled (1 in 8).
  const report = () => {
    metrics.inFlight.updateUnsafe(inFlight, context)
    if (written > reported.written) metrics.published.updateUnsafe(written - reported.written, context)
    if (duplicates > reported.duplicates)
      metrics.duplicates.updateUnsafe(duplicates - reported.duplicates, context)
    reported = { written, duplicates }
  }
  let sampled = 0

  const settle = (startedAt: number) => (ack: PubAck) => {
    failing = 0
    inFlight--
    written++
    if (ack.duplicate) duplicates++
    if ((++sampled & 7) === 0) metrics.latency.updateUnsafe((performance.now() - startedAt) / 1000, context)
    wake()
  }
  const subjects = new Map<string | undefined, string>()
  const subject = (hit: Hit.Hit) => {
    let s = subjects.get(hit.reportSuite)
    if (s === undefined) {
      s = subjectOf(options.subjectPrefix, hit)
      if (subjects.size < 10_000) subjects.set(hit.reportSuite, s)
    }
    return s
  }
  const send = (pending: Pending) => {
    const startedAt = performance.now()
    js.publish(
      pending.subject,
      pending.data,
      pending.msgID !== undefined ? { timeout: ackTimeout, msgID: pending.msgID } : { timeout: ackTimeout }
    ).then(settle(startedAt), (e: Error) => {
      if (isPermanent(e)) {
        // No retry can fix it: the sink fails at the next write or flush, naming the cause.
        fatal ??= new JetStreamSinkError({
          stream: options.stream,
          unacked: inFlight,
          message: `JetStream refused a hit on ${pending.subject} (stream ${options.stream}): ${e.message}; ${/payload|size/i.test(e.message) ? "raise the server's max_payload or the stream's max_msg_size" : "grant this user publish permission on the subject and the JetStream API"}`
        })
        inFlight--
        wake()
        for (const w of emptyWaiters.splice(0)) w()
        return
      }
      // Still in flight: the retry loop owns it now.
      pending.attempts++
      pending.lastError = e.message
      Queue.offerUnsafe(failed, pending)
    })
  }

  // Failed publishes are resent together after a backoff that grows while nothing is acked
  // (broker lost, no leader) and resets on the next ack. The window stays full meanwhile, which
  // holds the stream back.
  yield* Effect.forkScoped(
    Effect.forever(
      Effect.gen(function* () {
        const batch = yield* Queue.takeAll(failed)
        failing++
        metrics.retries.updateUnsafe(batch.length, context)
        if (failing === 1) {
          yield* Effect.logWarning(
            `JetStream publishes to stream ${options.stream} are failing (${batch[0].lastError ?? "unknown"}); retrying ${batch.length} hit(s) with backoff until acked`
          )
        }
        yield* Effect.sleep(Math.min(5_000, 100 * 2 ** Math.min(failing - 1, 6)))
        for (const pending of batch) send(pending)
      })
    )
  )

  const waitForRoom = Effect.callback<void>((resume) => {
    roomWaiter = () => resume(Effect.void)
    return Effect.sync(() => {
      roomWaiter = undefined
    })
  })
  const waitForEmpty = Effect.callback<void>((resume) => {
    const waiter = () => resume(Effect.void)
    emptyWaiters.push(waiter)
    return Effect.sync(() => {
      emptyWaiters = emptyWaiters.filter((w) => w !== waiter)
    })
  })

  const write = (hits: ReadonlyArray<Hit.Hit>): Effect.Effect<void, JetStreamSinkError> =>
    Effect.gen(function* () {
      for (let i = 0; i < hits.length; i++) {
        if (inFlight >= options.maxInFlight) {
          report()
          yield* waitForRoom
        }
        if (fatal !== undefined) return yield* fatal
        const hit = hits[i]
        inFlight++
        send({
          subject: subject(hit),
          data: encoder.encode(Hit.recordText(hit)),
          msgID: messageIdOf(hit),
          attempts: 0
        })
      }
      report()
    })

  const flush: Effect.Effect<void, JetStreamSinkError> = Effect.gen(function* () {
    // Acks arrive on promise callbacks, which change `inFlight` between the waits.
    // oxlint-disable-next-line no-unmodified-loop-condition
    while (inFlight > 0 && fatal === undefined) yield* waitForEmpty
    report()
    if (fatal !== undefined) return yield* fatal
  }).pipe(
    Effect.timeoutOrElse({
      duration: options.drainTimeout,
      orElse: () =>
        Effect.fail(
          new JetStreamSinkError({
            stream: options.stream,
            unacked: inFlight,
            message: `gave up after ${Duration.format(options.drainTimeout)} waiting for JetStream to ack ${inFlight} hit(s) on stream ${options.stream}; they may not be stored`
          })
        )
    })
  )

  yield* Effect.addFinalizer(() => flush.pipe(Effect.catch((e) => Effect.logError(e.message))))

  const sink: JetStreamSink = {
    write,
    flush,
    sink: Sink.forEachArray(write).pipe(Sink.mapEffect(() => flush)),
    written: () => written,
    inFlight: () => inFlight
  }
  return sink
})

/**
 * The sink as a service, for programs that wire it once.
 *
 * @since 0.1.0
 */
export class JetStreamSinkService extends Context.Service<JetStreamSinkService, JetStreamSink>()(
  "@hitstream/nats/JetStreamSink"
) {}

/**
 * The sink as a service, opened in the layer's scope.
 *
 * @since 0.1.0
 */
export const layer = (options: Options) => Layer.effect(JetStreamSinkService, make(options))
