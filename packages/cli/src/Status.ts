/**
 * What an operator sees while `hitstream` runs: on a terminal, one live line pinned at the
 * bottom of stderr (per slot: state, hits/s, lag, reconnects, next attempt); off a terminal, a
 * structured log event every 30 s instead. Never on stdout, which may be the sink. URLs in it
 * are redacted: a server's message may quote one with credentials.
 *
 * @since 0.1.0
 */
import { LiveStream } from "@hitstream/client"
import { RedactedUrl } from "@hitstream/core"
import { Clock, DateTime, Duration, Effect, Schedule } from "effect"
import type * as Terminal from "./Terminal.ts"

const seconds = (millis: number) => `${Math.max(0, Math.ceil(millis / 1000))}s`

// The next attempt as a local wall-clock time, e.g. 12:03:10.
const clockTime = (millis: number) =>
  DateTime.formatLocal(DateTime.makeUnsafe(millis), {
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
    hourCycle: "h23",
    locale: "en-GB"
  })

/**
 * One slot's state as a few words.
 *
 * @since 0.1.0
 */
export const describeSlot = (status: LiveStream.SlotStatus, now: number, rate: number): string => {
  const s = status.state
  const lag = status.lagSeconds === undefined ? "" : ` lag ${status.lagSeconds.toFixed(0)}s`
  const reconnects = status.attempts > 1 ? ` ${status.attempts - 1} reconnects` : ""
  switch (s._tag) {
    case "Idle":
      return `slot ${status.slot}: idle`
    case "Connecting":
      return `slot ${status.slot}: connecting (attempt ${s.attempt})`
    case "Streaming":
      return `slot ${status.slot}: streaming ${rate.toFixed(0)} hits/s, ${status.hits} hits${lag}${reconnects}${
        status.lastGapSeconds === undefined ? "" : ` last gap ${status.lastGapSeconds.toFixed(0)}s`
      }`
    case "Waiting":
      return RedactedUrl.redactText(
        `slot ${status.slot}: waiting until ${clockTime(DateTime.toEpochMillis(s.until))} (in ${seconds(DateTime.toEpochMillis(s.until) - now)}): ${s.reason}${reconnects}`
      )
    case "Failed":
      return RedactedUrl.redactText(`slot ${status.slot}: stopped: ${s.message}`)
  }
}

/**
 * Renders the status for as long as it runs: on the pinned line when there is one, as a log
 * event every 30 s otherwise.
 *
 * @since 0.1.0
 */
export const run = (
  live: LiveStream.LiveStream["Service"],
  options: { readonly line: Terminal.StatusLine | undefined; readonly label?: string }
) =>
  Effect.gen(function* () {
    let previous = new Map<number, number>()
    let previousAt = yield* Clock.currentTimeMillis
    const tick = Effect.gen(function* () {
      const statuses = yield* live.slots
      const now = yield* Clock.currentTimeMillis
      const elapsed = Math.max(1, now - previousAt) / 1000
      const counters = yield* live.counters
      const parts = statuses.map((s) =>
        describeSlot(s, now, (s.hits - (previous.get(s.slot) ?? s.hits)) / elapsed)
      )
      previous = new Map(statuses.map((s) => [s.slot, s.hits]))
      previousAt = now
      if (options.line !== undefined) {
        options.line.show(
          `${options.label ?? ""}${parts.join(" | ")} | dup ${counters.duplicates} bad ${counters.malformed}`
        )
      } else {
        yield* Effect.logInfo("status", {
          slots: parts,
          hits: counters.hits,
          duplicates: counters.duplicates,
          malformed: counters.malformed,
          attempts: counters.attempts
        })
      }
    })
    yield* tick.pipe(
      Effect.repeat(Schedule.spaced(options.line !== undefined ? Duration.seconds(1) : Duration.seconds(30)))
    )
  })
