/**
 * How a connection attempt can fail short of a stream: refused with a status the reconnect policy
 * classifies (`ConnectionRefused`), a redirect the token will not follow (`RedirectRejected`, with
 * its reason), a body that broke (`ConnectionLost`), and enabling the stream (`EnableError`).
 *
 * Re-exported by `Connection`.
 *
 * @since 0.1.0
 */
import type { ReconnectPolicy } from "@hitstream/core"
import { Schema } from "effect"

/**
 * The attempt did not get a stream: the classified end the reconnect policy decides on.
 *
 * @since 0.1.0
 */
export class ConnectionRefused extends Schema.TaggedError<ConnectionRefused>()("ConnectionRefused", {
  end: Schema.Any as Schema.Schema<ReconnectPolicy.ConnectionEnd>,
  message: Schema.String,
  /** The same refusal as the slot's previous attempt, already logged in full: log it quietly. */
  repeat: Schema.optional(Schema.Boolean)
}) {}

const redirectFields = {
  /** The URL that answered with the redirect (redacted). */
  from: Schema.String,
  /** Where it pointed (redacted). */
  location: Schema.String,
  message: Schema.String
}

/**
 * A redirect from https to http: the token would travel in clear text.
 *
 * @since 0.1.0
 */
export class InsecureRedirect extends Schema.TaggedError<InsecureRedirect>()(
  "InsecureRedirect",
  redirectFields
) {}

/**
 * A redirect to a host outside `trustedRedirectHosts`.
 *
 * @since 0.1.0
 */
export class UntrustedHost extends Schema.TaggedError<UntrustedHost>()("UntrustedHost", redirectFields) {}

/**
 * More than 5 redirects in a row: a loop.
 *
 * @since 0.1.0
 */
export class TooManyRedirects extends Schema.TaggedError<TooManyRedirects>()(
  "TooManyRedirects",
  redirectFields
) {}

/**
 * @since 0.1.0
 */
export const RedirectRejectedReason = Schema.Union([InsecureRedirect, UntrustedHost, TooManyRedirects])

/**
 * @since 0.1.0
 */
export type RedirectRejectedReason = typeof RedirectRejectedReason.Type

/**
 * A redirect the client will not follow with the token: to an untrusted host, from https to
 * http, or more than 5 hops (`reason` says which). Fatal: the configuration
 * (`trustedRedirectHosts`) or the network path needs a look. The token was not sent.
 *
 * @since 0.1.0
 */
export class RedirectRejected extends Schema.TaggedError<RedirectRejected>()("RedirectRejected", {
  reason: RedirectRejectedReason
}) {
  override get message(): string {
    return this.reason.message
  }
}

/**
 * The body stopped before the server ended it (reset, premature close, socket error).
 *
 * @since 0.1.0
 */
export class ConnectionLost extends Schema.TaggedError<ConnectionLost>()("ConnectionLost", {
  message: Schema.String
}) {}

/**
 * Enabling the stream for the current API version failed.
 *
 * @since 0.1.0
 */
export class EnableError extends Schema.TaggedError<EnableError>()("EnableError", {
  url: Schema.String,
  status: Schema.optional(Schema.Number),
  message: Schema.String
}) {}
