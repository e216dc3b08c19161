/**
 * Durations as operators write them in environment variables, files and flags: `60s`, `2m`,
 * `1500ms`, `1h`, `90 seconds`; a bare number is seconds.
 *
 * @since 0.1.0
 */
import { Duration, Effect, Option, Schema, SchemaIssue, SchemaTransformation } from "effect"

const units: Record<string, number> = {
  ms: 1,
  millis: 1,
  millisecond: 1,
  milliseconds: 1,
  s: 1000,
  sec: 1000,
  second: 1000,
  seconds: 1000,
  m: 60_000,
  min: 60_000,
  minute: 60_000,
  minutes: 60_000,
  h: 3_600_000,
  hour: 3_600_000,
  hours: 3_600_000
}

const durationPattern = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i

/**
 * Parses `60s`, `2m`, `1500ms`, `1h`, `90 seconds`, and every string `Duration.Input` takes
 * (`"250 millis"`, `"2 days"`); a bare number is seconds, as in environment variables.
 *
 * @since 0.1.0
 */
export const parse = (input: string): Option.Option<Duration.Duration> => {
  const match = durationPattern.exec(input)
  if (match === null) return Duration.fromInput(input.trim() as Duration.Input)
  const unit = match[2].toLowerCase()
  const factor = unit === "" ? 1000 : units[unit]
  if (factor === undefined) return Duration.fromInput(`${match[1]} ${unit}` as Duration.Input)
  return Option.some(Duration.millis(Number(match[1]) * factor))
}

const format = (duration: Duration.Duration): string => {
  const millis = Duration.toMillis(duration)
  return millis % 60_000 === 0 && millis > 0
    ? `${millis / 60_000}m`
    : millis % 1000 === 0
      ? `${millis / 1000}s`
      : `${millis}ms`
}

/**
 * A duration written as `60s`, `2m`, `1500ms`, `1h` (a bare number is seconds).
 *
 * @since 0.1.0
 */
export const DurationString = Schema.String.pipe(
  Schema.decodeTo(
    Schema.Duration,
    SchemaTransformation.transformEffect({
      decode: (input: string) =>
        Option.match(parse(input), {
          onNone: () =>
            Effect.fail(
              new SchemaIssue.InvalidValue(
                {
                  message: "it is not a duration; write it like 60s, 2m, 1500ms or 1h"
                },
                input
              )
            ),
          onSome: Effect.succeed
        }),
      encode: (duration: Duration.Duration) => Effect.succeed(format(duration))
    })
  )
).annotate({ identifier: "DurationString" })
