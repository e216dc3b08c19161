/**
 * Forwards a Live Stream to an HTTP endpoint: hits in batches, each batch POSTed as a JSON array
 * with `effect/http`, and retried with backoff until the endpoint takes it.
 *
 * Nothing is dropped and nothing piles up. One batch is in flight at a time, and until the
 * endpoint accepts it the stream is not read further: the client's bounded buffer fills, reading
 * from the socket pauses, and TCP holds the Live Stream back. However slow the endpoint, memory
 * holds one batch plus the client's `bufferSize` hits.
 */
import { LiveStream } from "@hitstream/client"
import { Config, Duration, Effect, Redacted, Schedule, Schema, Stream } from "effect"
import { HttpBody, HttpClient, HttpClientError } from "effect/http"

export interface Options {
  /** Where batches go. Redacted: webhook URLs often carry a secret in their path or query. */
  readonly url: Redacted.Redacted<string>
  /** The most hits in one POST. */
  readonly batchSize: number
  /** How long a partial batch waits for more hits before it is sent anyway. */
  readonly flushAfter: Duration.Input
}

/** The forwarder's settings, next to the client's `HITSTREAM_*` variables. */
export const settings = Config.all({
  url: Config.Redacted("HITSTREAM_EXAMPLE_WEBHOOK_URL"),
  batchSize: Config.Int("HITSTREAM_EXAMPLE_BATCH_SIZE").pipe(Config.withDefault(500)),
  flushAfter: Config.Duration("HITSTREAM_EXAMPLE_FLUSH_AFTER").pipe(Config.withDefault(Duration.seconds(1)))
})

/** The endpoint refused a batch for good (a 4xx other than 408 and 429): forwarding stops. */
export class WebhookRejected extends Schema.TaggedError<WebhookRejected>()("WebhookRejected", {
  status: Schema.Number,
  hits: Schema.Number,
  message: Schema.String
}) {}

/** Doubling from 250 ms up to 30 s, jittered; forever, since giving up would drop the batch. */
export const backoff = Schedule.exponential("250 millis").pipe(
  Schedule.modifyDelay(({ duration }) => Effect.succeed(Duration.min(duration, Duration.seconds(30)))),
  Schedule.jittered
)

// What went wrong, without the URL (an HttpClientError's message includes it).
const reason = (error: unknown) =>
  !HttpClientError.isHttpClientError(error)
    ? String(error)
    : error.reason._tag === "StatusCodeError"
      ? `status ${error.reason.response.status}`
      : error.reason._tag

/** Sends every hit of the stream to `options.url`; ends only with the stream or a rejection. */
export const forward = Effect.fn("Forwarder.forward")(function* (options: Options) {
  const live = yield* LiveStream.LiveStream
  const client = (yield* HttpClient.HttpClient).pipe(
    HttpClient.filterStatusOk,
    // Network errors, timeouts, 408, 429 and 5xx are retried; a Retry-After header is honoured.
    HttpClient.retryTransient({
      retryOn: "errors-only",
      schedule: backoff.pipe(
        Schedule.tap(({ input, duration }) =>
          Effect.logWarning(
            `webhook: ${reason(input)}; retrying in ${Math.round(Duration.toMillis(duration))} ms`
          )
        )
      )
    })
  )
  const post = (batch: ReadonlyArray<unknown>) =>
    client.post(Redacted.value(options.url), { body: HttpBody.jsonUnsafe(batch) }).pipe(
      Effect.catchTag("HttpClientError", (error) =>
        Effect.fail(
          new WebhookRejected({
            status: error.response?.status ?? 0,
            hits: batch.length,
            message: `the webhook refused a batch of ${batch.length} hits (${reason(error)}); forwarding stopped so that nothing is dropped: fix the endpoint or HITSTREAM_EXAMPLE_WEBHOOK_URL`
          })
        )
      )
    )
  yield* live.hits.pipe(
    Stream.groupedWithin(options.batchSize, options.flushAfter),
    Stream.runForEach((batch) =>
      Effect.andThen(post(batch), Effect.logDebug(`webhook: ${batch.length} hits delivered`))
    )
  )
})

/** `forward` configured from the environment. */
export const program = Effect.gen(function* () {
  return yield* forward(yield* settings)
})
