/**
 * The reconnect policy's options: their defaults, and their validation into milliseconds.
 *
 * The defaults carry the rules `ReconnectPolicy` exists for: 60 s between a loss and the next
 * attempt (Adobe's support article KA-16598), and a longest wait that, jitter included, stays
 * inside the 3 minutes the vendor backfills. `docs/reconnect-policy.md` has the numbers.
 *
 * @since 0.1.0
 */
import { Duration, Effect, Schema } from "effect"

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
export const make = (input: OptionsInput = {}): Effect.Effect<Options, InvalidPolicyOption> =>
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
 * The warning for a `minReconnectDelay` below Adobe's 60 s, or `undefined`: a library user who
 * sets it in code hears the same as a CLI user.
 *
 * @since 0.1.0
 */
export const shortDelayWarning = (options: Options): string | undefined =>
  options.minReconnectDelay < 60_000
    ? `minReconnectDelay is ${options.minReconnectDelay / 1000}s, below the 60s Adobe asks for: the load balancer may still count the old connection, and quick reconnects get 409 and 503 (support article KA-16598)`
    : undefined
