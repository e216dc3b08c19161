/**
 * How a connection attempt ended: the reconnect policy's input, and the reason its decisions
 * give in logs and status.
 *
 * @since 0.1.0
 */
import { Data } from "effect"
import * as RetryAfter from "./RetryAfter.ts"

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
   * `Retry-After`, when it sent one (see `RetryAfter.parse`).
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

const seconds = (millis: number) => `${Math.round(millis / 1000)} s`

/**
 * Why a connection ended, in words, for logs and status: the status and the server's
 * description, the network error, how long the stream ran or stayed silent, and the wait a 429
 * or 503 asked for.
 *
 * @since 0.1.0
 */
export const describe = (end: ConnectionEnd): string => {
  switch (end._tag) {
    case "Ended":
      return `the server ended the stream after ${seconds(end.streamedMillis)}`
    case "NetworkError":
      return `network error: ${end.message}`
    case "HttpStatus":
      return (
        `HTTP ${end.status}${end.description ? `: ${end.description}` : ""}` +
        (end.retryAfterMillis !== undefined && RetryAfter.isHonouredFor(end.status)
          ? `, the server asked for ${seconds(end.retryAfterMillis)}`
          : "")
      )
    case "Stalled":
      return `no data for ${seconds(end.idleMillis)}`
  }
}
