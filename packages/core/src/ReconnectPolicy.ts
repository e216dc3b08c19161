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
 * The policy's parts live in their own modules, re-exported here: `ConnectionEnd` (its input),
 * `ReconnectPolicyOptions` (its options), `StreamFatalError` (the statuses that end the stream)
 * and `RetryAfter` (the server's own wait).
 *
 * @since 0.1.0
 */
import { Duration, Effect, Random, Schedule } from "effect"
import { type ConnectionEnd, describe as describeEnd } from "./ConnectionEnd.ts"
import type { Options } from "./ReconnectPolicyOptions.ts"
import * as RetryAfter from "./RetryAfter.ts"
import { make as fatal, fromStatus as fatalFor, type StreamFatalError } from "./StreamFatalError.ts"

/**
 * @since 0.1.0
 */
export { ConnectionEnd } from "./ConnectionEnd.ts"

/**
 * @since 0.1.0
 */
export type { Options, OptionsInput } from "./ReconnectPolicyOptions.ts"

/**
 * @since 0.1.0
 */
export {
  defaults,
  InvalidPolicyOption,
  make as makeOptions,
  shortDelayWarning
} from "./ReconnectPolicyOptions.ts"

/**
 * @since 0.1.0
 */
export { maxMillis as maxRetryAfterMillis, parse as parseRetryAfter } from "./RetryAfter.ts"

/**
 * @since 0.1.0
 */
export {
  ApiVersionNotEnabled,
  AuthRejected,
  BadRequest,
  HttpVersionNotSupported,
  MethodNotAllowed,
  make as fatal,
  fromStatus as fatalFor,
  NotAcceptable,
  NotFound,
  StreamFatalError,
  StreamFatalReason,
  UnexpectedStatus
} from "./StreamFatalError.ts"

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
  /** The server asked for more than `RetryAfter.maxMillis` (an hour): the wait was cut to it. */
  readonly retryAfterCapped: boolean
}

/**
 * A connection shorter than this never counts as healthy, whatever `healthyAfter` says: a
 * server that accepts and drops at once must keep the growth going.
 *
 * @since 0.1.0
 */
export const acceptAndDropMillis = 5_000

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

const seconds = (millis: number) => `${Math.round(millis / 1000)} s`

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
  const asked =
    end._tag === "HttpStatus" && RetryAfter.isHonouredFor(end.status) ? end.retryAfterMillis : undefined
  // Honoured on top of the policy's delay, never instead of it.
  if (asked !== undefined) delay = Math.max(delay, Math.min(asked, RetryAfter.maxMillis))
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
      retryAfterCapped: asked !== undefined && asked > RetryAfter.maxMillis
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
