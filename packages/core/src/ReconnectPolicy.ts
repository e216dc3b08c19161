/**
 * When to connect again after a connection ends: the rules the whole project exists for.
 *
 * Adobe's support article KA-16598: intermittent 409 and 503 errors come mostly from clients
 * that connect and disconnect repeatedly, because neither the load balancer nor the API can tell
 * a client that lost its connection for a moment from one that left. A client keeps one
 * connection open, and after losing it waits about 60 seconds before connecting again.
 *
 * The rules, as a pure state machine (`step`) and as a `Schedule` over it (`schedule`):
 *
 * - after any loss or failed attempt, the next attempt starts no sooner than `minReconnectDelay`
 *   (60 s) after that loss;
 * - statuses that name a configuration or programming error (400, 404, 405, 406, 424, 505, and
 *   other unexpected 4xx) are fatal, with a message saying what to fix;
 * - 401 asks for a fresh token before the next attempt; after `maxAuthFailures` further 401s
 *   with fresh tokens it is fatal (`AuthRejected`);
 * - a 401 to a static access token is fatal at once: such a token cannot be refreshed;
 * - everything else (409, 429, 5xx, network errors, stalls, a stream the server ended) waits,
 *   and consecutive failures double the wait up to `maxReconnectDelay`;
 * - a 429 or 503 carrying `Retry-After` waits at least what the server asked, capped at an hour;
 * - jitter only ever adds (up to `maxJitter`, 20%), so no attempt comes before the minimum;
 * - a connection that delivered hits for `healthyAfter` (by default `minReconnectDelay`, and
 *   never less than 5 s) resets the growth; one that delivered nothing, or ended sooner, counts
 *   as one more failure, so a server that accepts and drops at once cannot turn the client into
 *   a reconnect loop.
 *
 * The vendor backfills a gap shorter than "a few minutes" (`backfillWindow`, 3 min): longer gaps
 * lose hits unless the next connection asks for `reset=smallest`. So the default
 * `maxReconnectDelay` is the window divided by the most jitter can add (150 s): the policy's
 * own waiting never outgrows the backfill. `docs/reconnect-policy.md` has the numbers.
 *
 * @since 0.1.0
 */
import { Data, Duration, Effect, Random, Schedule, Schema } from "effect"

/**
 * How a connection attempt ended: the policy's input.
 *
 * `streamedMillis` is how long the connection streamed after a 200 (0 when it never did), and
 * `hits` how many hits it delivered (absent counts as none): a connection is healthy only if
 * it delivered something.
 *
 * @since 0.1.0
 */
export type ConnectionEnd = Data.TaggedEnum<{
  /** The server closed a stream that had answered 200. */
  Ended: { readonly streamedMillis: number; readonly hits?: number | undefined }
  /** The socket failed: refused, reset, DNS, TLS, corrupt gzip... */
  NetworkError: {
    readonly streamedMillis: number
    readonly message: string
    readonly hits?: number | undefined
  }
  /**
   * The attempt was answered with a status other than 200. `retryAfterMillis` is the server's
   * `Retry-After`, when it sent one (see `parseRetryAfter`).
   */
  HttpStatus: {
    readonly status: number
    readonly description?: string | undefined
    readonly retryAfterMillis?: number | undefined
  }
  /** No bytes arrived for the configured stall timeout. */
  Stalled: {
    readonly streamedMillis: number
    readonly idleMillis: number
    readonly hits?: number | undefined
  }
}>

/**
 * @since 0.1.0
 */
export const ConnectionEnd = Data.taggedEnum<ConnectionEnd>()

/**
 * What to do next: wait `delay` (measured from the moment of the loss), then connect, with a
 * freshly fetched token when `refreshToken` is set.
 *
 * @since 0.1.0
 */
export interface Decision {
  readonly delay: Duration.Duration
  readonly refreshToken: boolean
  /** Failures in a row, this one included; 0 after a healthy connection. */
  readonly consecutiveFailures: number
  /** Why the connection ended, for logs and status. */
  readonly reason: string
  /** What the server asked for with `Retry-After` (on a 429 or 503), as it asked. */
  readonly retryAfter?: Duration.Duration | undefined
  /** The server asked for more than `maxRetryAfter`: the wait was cut to it. */
  readonly retryAfterCapped: boolean
}

const fatalFields = {
  status: Schema.Number,
  /** The server's `error_description` (or the start of its body), when it sent one. */
  description: Schema.optional(Schema.String),
  message: Schema.String
}

/**
 * 400: the stream refused a request parameter.
 *
 * @since 0.1.0
 */
export class BadRequest extends Schema.TaggedError<BadRequest>()("BadRequest", fatalFields) {}

/**
 * 404: the endpoint is unknown, or was disabled after 90 days without a client.
 *
 * @since 0.1.0
 */
export class NotFound extends Schema.TaggedError<NotFound>()("NotFound", fatalFields) {}

/**
 * 405: the request was not a GET (a client bug).
 *
 * @since 0.1.0
 */
export class MethodNotAllowed extends Schema.TaggedError<MethodNotAllowed>()(
  "MethodNotAllowed",
  fatalFields
) {}

/**
 * 406: the request's Accept-Encoding lacked gzip (a client bug, or a proxy rewrote it).
 *
 * @since 0.1.0
 */
export class NotAcceptable extends Schema.TaggedError<NotAcceptable>()("NotAcceptable", fatalFields) {}

/**
 * 424: the stream is not enabled for the current API version.
 *
 * @since 0.1.0
 */
export class ApiVersionNotEnabled extends Schema.TaggedError<ApiVersionNotEnabled>()(
  "ApiVersionNotEnabled",
  fatalFields
) {}

/**
 * 505: the server accepts HTTP/1.1 only.
 *
 * @since 0.1.0
 */
export class HttpVersionNotSupported extends Schema.TaggedError<HttpVersionNotSupported>()(
  "HttpVersionNotSupported",
  fatalFields
) {}

/**
 * 401 that a fresh token cannot fix: several in a row after new tokens, or one to a static token.
 *
 * @since 0.1.0
 */
export class AuthRejected extends Schema.TaggedError<AuthRejected>()("AuthRejected", fatalFields) {}

/**
 * Another 4xx that retrying cannot fix.
 *
 * @since 0.1.0
 */
export class UnexpectedStatus extends Schema.TaggedError<UnexpectedStatus>()(
  "UnexpectedStatus",
  fatalFields
) {}

/**
 * Why the stream cannot go on, one tagged class per cause: match them with
 * `Effect.catchReason("StreamFatalError", "NotFound", ...)`.
 *
 * @since 0.1.0
 */
export const StreamFatalReason = Schema.Union([
  BadRequest,
  NotFound,
  MethodNotAllowed,
  NotAcceptable,
  ApiVersionNotEnabled,
  HttpVersionNotSupported,
  AuthRejected,
  UnexpectedStatus
])

/**
 * @since 0.1.0
 */
export type StreamFatalReason = typeof StreamFatalReason.Type

/**
 * Why the stream cannot go on: a status that retrying cannot fix. The `reason` says which, with
 * the status, the server's description and a message saying what to fix (also the error's).
 *
 * @since 0.1.0
 */
export class StreamFatalError extends Schema.TaggedError<StreamFatalError>()("StreamFatalError", {
  reason: StreamFatalReason
}) {
  override get message(): string {
    return this.reason.message
  }
  /** The HTTP status that ended the stream. */
  get status(): number {
    return this.reason.status
  }
}

/**
 * The policy's options, in milliseconds once validated.
 *
 * @since 0.1.0
 */
export interface Options {
  readonly minReconnectDelay: number
  readonly maxReconnectDelay: number
  /** How long a connection must have delivered hits to reset the growth (at least 5 s). */
  readonly healthyAfter: number
  /** The longest gap the vendor backfills; a longer one may lose hits. */
  readonly backfillWindow: number
  /** The most jitter adds, as a fraction of the delay: 0.2 means up to +20%. */
  readonly maxJitter: number
  /** 401s in a row, after the first one, each with a fresh token, before giving up. */
  readonly maxAuthFailures: number
  /** The token was given as is and cannot be refreshed: a 401 is fatal at once. */
  readonly staticToken?: boolean | undefined
}

/**
 * A connection shorter than this never counts as healthy, whatever `healthyAfter` says: a
 * server that accepts and drops at once must keep the growth going.
 *
 * @since 0.1.0
 */
export const acceptAndDropMillis = 5_000

/**
 * The longest `Retry-After` honoured: a server asking for more is probably wrong, and waiting
 * a day on its word would look like a hang.
 *
 * @since 0.1.0
 */
export const maxRetryAfterMillis = 3_600_000

/**
 * @since 0.1.0
 */
export const defaults: Options = {
  minReconnectDelay: 60_000,
  // The backfill window divided by the most jitter adds: 150 s * 1.2 = 180 s.
  maxReconnectDelay: 150_000,
  healthyAfter: 60_000,
  backfillWindow: 180_000,
  maxJitter: 0.2,
  maxAuthFailures: 3
}

/**
 * An option that is out of range.
 *
 * @since 0.1.0
 */
export class InvalidPolicyOption extends Schema.TaggedError<InvalidPolicyOption>()("InvalidPolicyOption", {
  option: Schema.String,
  value: Schema.String,
  message: Schema.String
}) {}

/**
 * The options a caller may give, durations in any form `Duration` accepts.
 *
 * @since 0.1.0
 */
export interface OptionsInput {
  readonly minReconnectDelay?: Duration.Input | undefined
  readonly maxReconnectDelay?: Duration.Input | undefined
  readonly healthyAfter?: Duration.Input | undefined
  readonly backfillWindow?: Duration.Input | undefined
  readonly maxJitter?: number | undefined
  readonly maxAuthFailures?: number | undefined
  readonly staticToken?: boolean | undefined
}

const invalid = (option: string, value: unknown, valid: string) =>
  new InvalidPolicyOption({
    option,
    value: String(value),
    message: `${option} is ${String(value)}; it must be ${valid}`
  })

const toMillis = (option: string, input: Duration.Input | undefined, fallback: number) => {
  if (input === undefined) return fallback
  const duration = Duration.fromInput(input)
  if (duration._tag === "None") throw invalid(option, input, 'a duration such as "60 seconds"')
  const millis = Duration.toMillis(duration.value)
  if (!Number.isFinite(millis) || millis < 0) throw invalid(option, input, "a finite duration of 0 or more")
  return millis
}

/**
 * Validates options, filling defaults. Fails naming the option, its value and the valid range.
 *
 * @since 0.1.0
 */
export const makeOptions = (input: OptionsInput = {}): Effect.Effect<Options, InvalidPolicyOption> =>
  Effect.try({
    try: () => {
      const minReconnectDelay = toMillis(
        "minReconnectDelay",
        input.minReconnectDelay,
        defaults.minReconnectDelay
      )
      const maxJitter = input.maxJitter ?? defaults.maxJitter
      if (!(maxJitter >= 0 && maxJitter <= 1)) throw invalid("maxJitter", maxJitter, "a fraction from 0 to 1")
      const backfillWindow = toMillis("backfillWindow", input.backfillWindow, defaults.backfillWindow)
      if (backfillWindow <= 0) throw invalid("backfillWindow", backfillWindow, "a duration above 0")
      // By default the longest wait, jitter included, stays inside the backfill window.
      const maxReconnectDelay = toMillis(
        "maxReconnectDelay",
        input.maxReconnectDelay,
        Math.max(Math.floor(backfillWindow / (1 + maxJitter)), minReconnectDelay)
      )
      if (maxReconnectDelay < minReconnectDelay) {
        throw invalid(
          "maxReconnectDelay",
          Duration.format(Duration.millis(maxReconnectDelay)),
          `at least minReconnectDelay (${Duration.format(Duration.millis(minReconnectDelay))})`
        )
      }
      const healthyAfter = toMillis("healthyAfter", input.healthyAfter, minReconnectDelay)
      const maxAuthFailures = input.maxAuthFailures ?? defaults.maxAuthFailures
      if (!Number.isInteger(maxAuthFailures) || maxAuthFailures < 0 || maxAuthFailures > 100) {
        throw invalid("maxAuthFailures", maxAuthFailures, "an integer from 0 to 100")
      }
      return {
        minReconnectDelay,
        maxReconnectDelay,
        healthyAfter,
        backfillWindow,
        maxJitter,
        maxAuthFailures,
        staticToken: input.staticToken === true
      }
    },
    catch: (error) =>
      error instanceof InvalidPolicyOption ? error : invalid("options", String(error), "valid policy options")
  })

/**
 * The policy's memory between attempts.
 *
 * @since 0.1.0
 */
export interface State {
  readonly failures: number
  readonly authFailures: number
}

/**
 * @since 0.1.0
 */
export const initialState: State = { failures: 0, authFailures: 0 }

type FatalReasonTag = StreamFatalReason["_tag"]

interface FatalFields {
  readonly status: number
  readonly description?: string | undefined
  readonly message: string
}

const reasons: Record<FatalReasonTag, new (fields: FatalFields) => StreamFatalReason> = {
  BadRequest,
  NotFound,
  MethodNotAllowed,
  NotAcceptable,
  ApiVersionNotEnabled,
  HttpVersionNotSupported,
  AuthRejected,
  UnexpectedStatus
}

/**
 * The fatal error for a reason, by its tag.
 *
 * @since 0.1.0
 */
export const fatal = (reason: FatalReasonTag, fields: FatalFields): StreamFatalError =>
  new StreamFatalError({ reason: new reasons[reason](fields) })

const fatalStatuses: Record<number, { reason: FatalReasonTag; fix: string }> = {
  400: {
    reason: "BadRequest",
    fix: "The stream rejected a request parameter. Check maxConnections (1 to 8, the same value on every client), reset (smallest or largest), smoothing (1) and smoothingBucketSize (1 to 7200)."
  },
  404: {
    reason: "NotFound",
    fix: "The endpoint is unknown, or the stream was disabled after 90 days without a client. Check the stream URL Adobe provisioned; ask Adobe to re-enable a disabled stream."
  },
  405: {
    reason: "MethodNotAllowed",
    fix: "The request was not a GET. This is a bug in the client: please report it."
  },
  406: {
    reason: "NotAcceptable",
    fix: "The request's Accept-Encoding lacked gzip. This is a bug in the client (or a proxy rewrote the header)."
  },
  424: {
    reason: "ApiVersionNotEnabled",
    fix: "The stream is not enabled for the current API version. Enable it once with GET https://livestream.adobe.net/api/2/enable/{endpoint-name} and the same headers (`hitstream enable`), then allow up to 15 minutes; or connect to /api/1/stream/{endpoint-name} without beta=true."
  },
  505: {
    reason: "HttpVersionNotSupported",
    fix: "The server accepts HTTP/1.1 only. This is a bug in the client (or a proxy upgraded the request)."
  }
}

// Statuses that say "not now" rather than "not like this".
const retryable4xx = new Set([401, 408, 409, 425, 429])

const seconds = (millis: number) => `${Math.round(millis / 1000)} s`

const describeEnd = (end: ConnectionEnd): string => {
  switch (end._tag) {
    case "Ended":
      return `the server ended the stream after ${seconds(end.streamedMillis)}`
    case "NetworkError":
      return `network error: ${end.message}`
    case "HttpStatus":
      return (
        `HTTP ${end.status}${end.description ? `: ${end.description}` : ""}` +
        (end.retryAfterMillis !== undefined && honoursRetryAfter(end.status)
          ? `, the server asked for ${seconds(end.retryAfterMillis)}`
          : "")
      )
    case "Stalled":
      return `no data for ${seconds(end.idleMillis)}`
  }
}

// HTTP's convention: a 429 or 503 may say when to come back.
const honoursRetryAfter = (status: number) => status === 429 || status === 503

const httpDate =
  /^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} GMT$/

/**
 * A `Retry-After` header as milliseconds from `nowMillis`: delay-seconds (`120`) or an HTTP date
 * (`Wed, 21 Oct 2026 07:28:00 GMT`; a date in the past is 0). Anything else is ignored
 * (`undefined`): a malformed header must not stop the stream, and the policy's own delay still
 * applies.
 *
 * @since 0.1.0
 */
export const parseRetryAfter = (header: string | undefined, nowMillis: number): number | undefined => {
  if (header === undefined) return undefined
  const value = header.trim()
  if (/^\d+$/.test(value)) {
    const millis = Number(value) * 1000
    return Number.isFinite(millis) ? millis : undefined
  }
  if (!httpDate.test(value)) return undefined
  const at = Date.parse(value)
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMillis)
}

/**
 * Whether a connection counts as healthy: it streamed and delivered hits for `healthyAfter`,
 * and for at least `acceptAndDropMillis`.
 *
 * @since 0.1.0
 */
export const isHealthy = (options: Options, end: ConnectionEnd): boolean =>
  end._tag !== "HttpStatus" &&
  (end.hits ?? 0) > 0 &&
  end.streamedMillis >= Math.max(options.healthyAfter, acceptAndDropMillis)

/**
 * The warning for a gap (from losing a stream to the next one starting) longer than the
 * backfill window, or `undefined` when the vendor backfills it.
 *
 * @since 0.1.0
 */
export const gapWarning = (options: Options, gapMillis: number): string | undefined =>
  gapMillis <= options.backfillWindow
    ? undefined
    : `${seconds(gapMillis)} without a stream, past the ${seconds(options.backfillWindow)} the server backfills: hits from that gap may be lost. ` +
      "To recover them, connect once with --reset smallest (reset: smallest; the server replays the oldest data it holds, the dedup drops what was seen), " +
      "or run more slots (a larger maxConnections, and connections to match), so that others are streaming while one waits."

/**
 * The warning for a `minReconnectDelay` below Adobe's 60 s, or `undefined`: a library user who
 * sets it in code hears the same as a CLI user.
 *
 * @since 0.1.0
 */
export const shortDelayWarning = (options: Options): string | undefined =>
  options.minReconnectDelay < 60_000
    ? `minReconnectDelay is ${options.minReconnectDelay / 1000}s, below the 60s Adobe asks for: the load balancer may still count the old connection, and quick reconnects get 409 and 503 (support article KA-16598)`
    : undefined

/**
 * The fatal error for a status, if the status is fatal.
 *
 * @since 0.1.0
 */
export const fatalFor = (status: number, description?: string): StreamFatalError | undefined => {
  const known = fatalStatuses[status]
  const unexpected = status >= 400 && status < 500 && !retryable4xx.has(status)
  if (known === undefined && !unexpected) return undefined
  const detail = description ? ` The server said: ${description}` : ""
  return fatal(known?.reason ?? "UnexpectedStatus", {
    status,
    description,
    message: known
      ? `HTTP ${status}: ${known.fix}${detail}`
      : `HTTP ${status} is a client error that retrying cannot fix.${detail}`
  })
}

/**
 * One step of the policy: given how an attempt ended and a jitter draw in [0, 1), the decision
 * and the next state, or the fatal error. Pure: the `Schedule` and the tests drive it.
 *
 * @since 0.1.0
 */
export const step = (
  options: Options,
  state: State,
  end: ConnectionEnd,
  jitter: number
): readonly [Decision, State] | StreamFatalError => {
  let authFailures = state.authFailures
  let refreshToken = false
  if (end._tag === "HttpStatus") {
    const fatalError = fatalFor(end.status, end.description)
    if (fatalError) return fatalError
    if (end.status === 401) {
      const said = end.description ? ` The server said: ${end.description}` : ""
      if (options.staticToken === true) {
        return fatal("AuthRejected", {
          status: 401,
          description: end.description,
          message:
            "HTTP 401 to a static access token: static tokens cannot refresh, so waiting cannot fix it. " +
            "Use client credentials (HITSTREAM_CLIENT_SECRET or --client-secret-file, with the client id and scopes), which fetch a new token when needed, or give a fresh token." +
            said
        })
      }
      authFailures++
      if (authFailures > options.maxAuthFailures) {
        return fatal("AuthRejected", {
          status: 401,
          description: end.description,
          message:
            `HTTP 401 on ${authFailures} attempts in a row, each after fetching a new token: the credential is valid for IMS but not for Live Stream. ` +
            `Check that the Developer Console project has the Adobe Analytics API with the product profile that owns the report suite, and that the scopes are copied from it.` +
            said
        })
      }
      refreshToken = true
    }
  } else if (end.streamedMillis > 0) {
    // A stream answered 200, so the token worked.
    authFailures = 0
  }
  const failures = isHealthy(options, end) ? 0 : state.failures + 1
  const growth = 2 ** Math.min(Math.max(failures - 1, 0), 30)
  const base = Math.min(options.minReconnectDelay * growth, options.maxReconnectDelay)
  let delay = base + base * options.maxJitter * Math.min(Math.max(jitter, 0), 1)
  const asked = end._tag === "HttpStatus" && honoursRetryAfter(end.status) ? end.retryAfterMillis : undefined
  // Honoured on top of the policy's delay, never instead of it.
  if (asked !== undefined) delay = Math.max(delay, Math.min(asked, maxRetryAfterMillis))
  // Whole milliseconds: a fractional delay added to a clock reading can round to just under what
  // the server asked (3_599_999.9999999995 for 3_600_000).
  delay = Math.ceil(delay)
  return [
    {
      delay: Duration.millis(delay),
      refreshToken,
      consecutiveFailures: failures,
      reason: describeEnd(end),
      retryAfter: asked === undefined ? undefined : Duration.millis(asked),
      retryAfterCapped: asked !== undefined && asked > maxRetryAfterMillis
    },
    { failures, authFailures }
  ]
}

/**
 * The policy as a `Schedule`: its input is how each attempt ended, its output the decision,
 * and its delay the decision's delay. It fails with the fatal error instead of recurring.
 *
 * Step it at the moment of each loss: the delay is measured from then.
 *
 * @since 0.1.0
 */
export const schedule = (options: Options): Schedule.Schedule<Decision, ConnectionEnd, StreamFatalError> =>
  Schedule.fromStep(
    Effect.sync(() => {
      let state = initialState
      return (_now: number, end: ConnectionEnd) =>
        Effect.flatMap(Random.next, (jitter) => {
          const result = step(options, state, end, jitter)
          if (!Array.isArray(result)) return Effect.fail(result as StreamFatalError)
          const [decision, next] = result as readonly [Decision, State]
          state = next
          return Effect.succeed([decision, decision.delay] as [Decision, Duration.Duration])
        })
    })
  )

/**
 * How long a slot must still wait after a restart, given when its last connection ended (for a
 * process that was restarted, perhaps in a crash loop): the 60-second rule survives restarts.
 *
 * @since 0.1.0
 */
export const remainingAfterRestart = (options: Options, lastEndMillis: number, nowMillis: number): number =>
  Math.max(0, Math.min(options.minReconnectDelay, lastEndMillis + options.minReconnectDelay - nowMillis))
