/**
 * The one message the page receives, once a second: slot states, totals, the latest malformed
 * previews, the series points, the top tables and the timeline. Pure: built from the windows,
 * the timeline and the client's status as plain JSON.
 *
 * Nothing secret goes in: URLs lose their userinfo and secret-looking query values, and every
 * free text (a wait's reason, a failure's message, a malformed record's preview) passes
 * through `redactText`, because a server's message may quote a URL with credentials.
 *
 * @since 0.1.0
 */
import type { LiveStream } from "@hitstream/client"
import { RedactedUrl } from "@hitstream/core"
import { DateTime } from "effect"
import * as Timeline from "./Timeline.ts"
import * as Window from "./Window.ts"

/**
 * One slot as the page shows it. Times are Unix milliseconds.
 *
 * @since 0.1.0
 */
export interface SlotView {
  readonly slot: number
  readonly state: "idle" | "connecting" | "streaming" | "waiting" | "failed"
  readonly since?: number | undefined
  readonly until?: number | undefined
  readonly reason?: string | undefined
  readonly message?: string | undefined
  readonly attempt?: number | undefined
  readonly consecutiveFailures?: number | undefined
  readonly url?: string | undefined
  readonly attempts: number
  readonly hits: number
  readonly lagSeconds: number | null
}

/**
 * A record the client skipped, as far as the page may show it.
 *
 * @since 0.1.0
 */
export interface MalformedView {
  readonly at: number
  readonly slot: number | null
  readonly reason: string
  readonly preview: string
}

/**
 * @since 0.1.0
 */
export interface Totals {
  readonly hits: number
  readonly duplicates: number
  readonly malformed: number
  readonly bytes: number
  readonly attempts: number
}

/**
 * The message. `snapshot` carries the whole series (sent first on every connection, so a
 * browser that reconnects is whole again without reloading); `tick` carries its last seconds.
 *
 * @since 0.1.0
 */
export interface Summary {
  readonly kind: "snapshot" | "tick"
  readonly now: number
  readonly startedAt: number
  readonly minReconnectDelayMillis: number
  readonly seriesSeconds: number
  readonly topSeconds: number
  readonly horizonMillis: number
  readonly slots: ReadonlyArray<SlotView>
  readonly totals: Totals
  readonly malformed: ReadonlyArray<MalformedView>
  readonly points: ReadonlyArray<Window.Point>
  readonly top: {
    readonly total: number
    readonly pages: ReadonlyArray<Window.Ranked>
    readonly countries: ReadonlyArray<Window.Ranked>
    readonly suites: ReadonlyArray<Window.Ranked>
  }
  readonly timeline: ReadonlyArray<Timeline.Row>
}

/**
 * How many rows each top table shows.
 *
 * @since 0.1.0
 */
export const topRows = 10

/**
 * Seconds of the series a tick repeats: the current second is still filling when a tick is
 * sent, so the next ticks send it again and the page keeps the last value per second.
 *
 * @since 0.1.0
 */
export const tickSeconds = 3

const maxTextLength = 500

const text = (value: string): string => {
  const redacted = RedactedUrl.redactText(value)
  return redacted.length > maxTextLength ? `${redacted.slice(0, maxTextLength - 1)}…` : redacted
}

/**
 * One slot's status as the page shows it, redacted.
 *
 * @since 0.1.0
 */
export const slotView = (status: LiveStream.SlotStatus): SlotView => {
  const base = {
    slot: status.slot,
    attempts: status.attempts,
    hits: status.hits,
    lagSeconds: status.lagSeconds === undefined ? null : Math.round(status.lagSeconds * 10) / 10
  }
  const s = status.state
  switch (s._tag) {
    case "Idle":
      return { ...base, state: "idle" }
    case "Connecting":
      return { ...base, state: "connecting", since: DateTime.toEpochMillis(s.since), attempt: s.attempt }
    case "Streaming":
      return {
        ...base,
        state: "streaming",
        since: DateTime.toEpochMillis(s.since),
        url: RedactedUrl.redactUrl(s.url)
      }
    case "Waiting":
      return {
        ...base,
        state: "waiting",
        until: DateTime.toEpochMillis(s.until),
        reason: text(s.reason),
        consecutiveFailures: s.consecutiveFailures
      }
    case "Failed":
      return { ...base, state: "failed", message: text(s.message) }
  }
}

/**
 * The latest `max` malformed records, newest last, with `entry` added.
 *
 * @since 0.1.0
 */
export const pushMalformed = (
  list: ReadonlyArray<MalformedView>,
  entry: MalformedView,
  max = 10
): Array<MalformedView> => {
  const next = [...list, { ...entry, reason: text(entry.reason), preview: text(entry.preview) }]
  return next.length > max ? next.slice(next.length - max) : next
}

/**
 * Builds the message at `now` (Unix milliseconds).
 *
 * @since 0.1.0
 */
export const make = (input: {
  readonly kind: "snapshot" | "tick"
  readonly now: number
  readonly startedAt: number
  readonly minReconnectDelayMillis: number
  readonly horizonMillis: number
  readonly statuses: ReadonlyArray<LiveStream.SlotStatus>
  readonly counters: Totals
  readonly malformed: ReadonlyArray<MalformedView>
  readonly window: Window.Window
  readonly timeline: Timeline.Timeline
}): Summary => {
  const { window, now } = input
  const nowSecond = Math.floor(now / 1000)
  Window.advance(window, nowSecond)
  const fromSecond = input.kind === "snapshot" ? -Infinity : nowSecond - tickSeconds + 1
  return {
    kind: input.kind,
    now,
    startedAt: input.startedAt,
    minReconnectDelayMillis: input.minReconnectDelayMillis,
    seriesSeconds: window.options.seriesSeconds,
    topSeconds: window.options.topSeconds,
    horizonMillis: input.horizonMillis,
    slots: input.statuses.map(slotView),
    totals: {
      hits: input.counters.hits,
      duplicates: input.counters.duplicates,
      malformed: input.counters.malformed,
      bytes: input.counters.bytes,
      attempts: input.counters.attempts
    },
    malformed: input.malformed,
    points: Window.points(window, fromSecond, nowSecond),
    top: {
      total: Window.topTotal(window),
      pages: Window.top(window, "pages", topRows),
      countries: Window.top(window, "countries", topRows),
      suites: Window.top(window, "suites", topRows)
    },
    timeline: Timeline.view(input.timeline, now, input.horizonMillis, input.minReconnectDelayMillis).map(
      (row) => ({
        ...row,
        spans: row.spans.map((s) => (s.reason === undefined ? s : { ...s, reason: text(s.reason) }))
      })
    )
  }
}
