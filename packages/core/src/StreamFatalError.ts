/**
 * Why the stream cannot go on: the statuses that retrying cannot fix, one tagged class per
 * cause, each with a message saying what to fix.
 *
 * A fatal status ends the stream instead of waiting for the next attempt: reconnecting with a
 * wrong parameter, a disabled endpoint or a client bug would only repeat the same answer every
 * minute, and hide the fix from the operator.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"

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

type ReasonTag = StreamFatalReason["_tag"]

interface Fields {
  readonly status: number
  readonly description?: string | undefined
  readonly message: string
}

const reasons: Record<ReasonTag, new (fields: Fields) => StreamFatalReason> = {
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
export const make = (reason: ReasonTag, fields: Fields): StreamFatalError =>
  new StreamFatalError({ reason: new reasons[reason](fields) })

const fatalStatuses: Record<number, { reason: ReasonTag; fix: string }> = {
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

/**
 * The fatal error for a status, if the status is fatal.
 *
 * @since 0.1.0
 */
export const fromStatus = (status: number, description?: string): StreamFatalError | undefined => {
  const known = fatalStatuses[status]
  const unexpected = status >= 400 && status < 500 && !retryable4xx.has(status)
  if (known === undefined && !unexpected) return undefined
  const detail = description ? ` The server said: ${description}` : ""
  return make(known?.reason ?? "UnexpectedStatus", {
    status,
    description,
    message: known
      ? `HTTP ${status}: ${known.fix}${detail}`
      : `HTTP ${status} is a client error that retrying cannot fix.${detail}`
  })
}
