/**
 * Each slot's connection history over the last hour, built from the state changes the client
 * publishes: spans of connecting, streaming, waiting and failed, and the gaps between one
 * attempt's end and the next attempt's start. The gaps are where Adobe's 60-second rule shows:
 * one shorter than the minimum reconnect delay is flagged `short` (the page draws it red).
 *
 * Pure (the caller passes the time) and bounded: spans that ended before the horizon are
 * dropped, and at most `maxSpans` are kept per slot.
 *
 * @since 0.1.0
 */
import type { LiveStream } from "@hitstream/client"
import { DateTime } from "effect"

/**
 * @since 0.1.0
 */
export type Phase = "idle" | "connecting" | "streaming" | "waiting" | "failed"

/**
 * One stretch of a slot in one phase. `to` is undefined while it lasts.
 *
 * @since 0.1.0
 */
export interface Span {
  readonly phase: Phase
  readonly from: number
  to: number | undefined
  /** Tells a new span from the same phase seen again (another attempt, another wait). */
  readonly key: string
  readonly reason?: string | undefined
}

/**
 * @since 0.1.0
 */
export interface Timeline {
  readonly rows: Map<number, Array<Span>>
}

/**
 * How much later than the client's own clock a state change may be observed when the state
 * carries no timestamp of its own (the start of a wait): a gap is short only when it falls
 * below the minimum by more than this.
 *
 * @since 0.1.0
 */
export const toleranceMillis = 500

/**
 * The most spans kept per slot: the reconnect policy allows about one attempt a minute, so an
 * hour needs far fewer; this only bounds a misbehaving client.
 *
 * @since 0.1.0
 */
export const maxSpans = 1_000

/**
 * @since 0.1.0
 */
export const make = (): Timeline => ({ rows: new Map() })

const phaseOf = (state: LiveStream.SlotState): Phase =>
  state._tag === "Idle"
    ? "idle"
    : state._tag === "Connecting"
      ? "connecting"
      : state._tag === "Streaming"
        ? "streaming"
        : state._tag === "Waiting"
          ? "waiting"
          : "failed"

// The client stamps when a connect or a stream began; a wait carries its start only in newer
// clients (`lostAt`), so otherwise the moment it is observed stands in.
const startOf = (state: LiveStream.SlotState, now: number): number => {
  switch (state._tag) {
    case "Connecting":
    case "Streaming":
      return DateTime.toEpochMillis(state.since)
    case "Waiting":
      return state.lostAt === undefined ? now : DateTime.toEpochMillis(state.lostAt)
    default:
      return now
  }
}

const keyOf = (state: LiveStream.SlotState): string => {
  switch (state._tag) {
    case "Connecting":
    case "Streaming":
      return `${state._tag}:${DateTime.toEpochMillis(state.since)}`
    case "Waiting":
      return `Waiting:${DateTime.toEpochMillis(state.until)}`
    case "Failed":
      return `Failed:${state.message}`
    default:
      return state._tag
  }
}

/**
 * Records slot `slot` in `state` at `now`: a new span when the state is a new one, nothing when
 * it is the same state seen again.
 *
 * @since 0.1.0
 */
export const observe = (timeline: Timeline, slot: number, state: LiveStream.SlotState, now: number): void => {
  let spans = timeline.rows.get(slot)
  if (spans === undefined) {
    spans = []
    timeline.rows.set(slot, spans)
  }
  const key = keyOf(state)
  const last = spans[spans.length - 1]
  if (last !== undefined && last.key === key) return
  const from = Math.max(startOf(state, now), last?.from ?? -Infinity)
  if (last !== undefined && last.to === undefined) last.to = from
  spans.push({
    phase: phaseOf(state),
    from,
    to: undefined,
    key,
    reason: state._tag === "Waiting" ? state.reason : state._tag === "Failed" ? state.message : undefined
  })
  if (spans.length > maxSpans) spans.splice(0, spans.length - maxSpans)
}

/**
 * Forgets spans that ended before `since`.
 *
 * @since 0.1.0
 */
export const prune = (timeline: Timeline, since: number): void => {
  for (const spans of timeline.rows.values()) {
    let drop = 0
    while (drop < spans.length - 1 && (spans[drop].to ?? Infinity) < since) drop++
    if (drop > 0) spans.splice(0, drop)
  }
}

/**
 * The time between one attempt's end and the next one's start (`to` undefined while waiting).
 *
 * @since 0.1.0
 */
export interface Gap {
  readonly from: number
  readonly to: number | undefined
  readonly millis: number
  /** Shorter than the minimum reconnect delay (beyond the tolerance): a broken rule. */
  readonly short: boolean
}

/**
 * One slot's row as the page draws it.
 *
 * @since 0.1.0
 */
export interface Row {
  readonly slot: number
  readonly spans: ReadonlyArray<{
    readonly phase: Phase
    readonly from: number
    readonly to: number | null
    readonly reason?: string | undefined
  }>
  readonly gaps: ReadonlyArray<Gap>
}

/**
 * The gaps of one slot's spans: from the end of each attempt (a connecting span, and the
 * streaming span that may follow it) to the start of the next connecting span.
 *
 * @since 0.1.0
 */
export const gaps = (spans: ReadonlyArray<Span>, now: number, minReconnectDelay: number): Array<Gap> => {
  const out: Array<Gap> = []
  let attemptEnd: number | undefined
  for (let i = 0; i < spans.length; i++) {
    const span = spans[i]
    if (span.phase === "connecting") {
      if (attemptEnd !== undefined) {
        const millis = span.from - attemptEnd
        out.push({
          from: attemptEnd,
          to: span.from,
          millis,
          short: millis < minReconnectDelay - toleranceMillis
        })
      }
      attemptEnd = undefined
    } else if (span.phase === "streaming") {
      attemptEnd = undefined
    } else if (attemptEnd === undefined && i > 0) {
      const previous = spans[i - 1].phase
      if (previous === "connecting" || previous === "streaming") attemptEnd = span.from
    }
    if (span.phase === "idle" || span.phase === "failed") attemptEnd = undefined
  }
  if (attemptEnd !== undefined)
    out.push({ from: attemptEnd, to: undefined, millis: now - attemptEnd, short: false })
  return out
}

/**
 * The rows for the page: every slot's spans and gaps that overlap the last `horizonMillis`,
 * clipped to it. Idle spans (before the first attempt, after a stop) are left out.
 *
 * @since 0.1.0
 */
export const view = (
  timeline: Timeline,
  now: number,
  horizonMillis: number,
  minReconnectDelay: number
): Array<Row> => {
  const start = now - horizonMillis
  return Array.from(timeline.rows, ([slot, spans]) => ({
    slot,
    spans: spans
      .filter((s) => s.phase !== "idle" && (s.to ?? now) >= start)
      .map((s) => ({
        phase: s.phase,
        from: Math.max(s.from, start),
        to: s.to === undefined ? null : s.to,
        ...(s.reason === undefined ? {} : { reason: s.reason })
      })),
    gaps: gaps(spans, now, minReconnectDelay).filter((g) => (g.to ?? now) >= start)
  })).sort((a, b) => a.slot - b.slot)
}
