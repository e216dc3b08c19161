/**
 * The server's `Retry-After` header: when a 429 or 503 says to come back.
 *
 * The policy honours it on top of its own delay, never instead of it, and only up to
 * `maxMillis`. A malformed header is ignored rather than an error: it must not stop the stream,
 * and the policy's own delay still applies.
 *
 * @since 0.1.0
 */

/**
 * The longest `Retry-After` honoured: a server asking for more is probably wrong, and waiting
 * a day on its word would look like a hang.
 *
 * @since 0.1.0
 */
export const maxMillis = 3_600_000

/**
 * Whether a status carries a `Retry-After` the policy honours: HTTP's convention is that a 429
 * or 503 may say when to come back; on another status the header is not that promise.
 *
 * @since 0.1.0
 */
export const isHonouredFor = (status: number): boolean => status === 429 || status === 503

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
export const parse = (header: string | undefined, nowMillis: number): number | undefined => {
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
