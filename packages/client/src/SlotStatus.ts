/**
 * What each slot of a `LiveStream` is doing, and whether that is healthy: the board that feeds
 * the terminal line, `/healthz`, `/metrics` and the dashboard.
 *
 * `health` is pure (statuses, now, config in; a verdict out), so that a probe and a test judge
 * a slot alike: a slot is unhealthy when it failed, when it has been connecting for longer than
 * the connect timeout allows, or when it is still waiting well past the moment it planned to
 * connect. The last two catch a slot whose fiber is stuck, which no log line would show.
 *
 * @since 0.1.0
 */
import { DateTime, Duration, Effect, SubscriptionRef } from "effect"

/**
 * What a slot is doing, for operators. Times are `DateTime.Utc` (read from the `Clock`, so the
 * `TestClock` in tests); durations are milliseconds.
 *
 * @since 0.1.0
 */
export type SlotState =
  | { readonly _tag: "Idle" }
  | { readonly _tag: "Connecting"; readonly attempt: number; readonly since: DateTime.Utc }
  | {
      readonly _tag: "Streaming"
      readonly since: DateTime.Utc
      readonly url: string
      /** How long the slot was without a stream before this one started (none for the first). */
      readonly gapMillis: number | undefined
    }
  | {
      readonly _tag: "Waiting"
      /** When the slot plans to connect again. */
      readonly until: DateTime.Utc
      readonly reason: string
      readonly consecutiveFailures: number
      /** When the slot's last stream was lost: the gap so far is `now - lostAt`. */
      readonly lostAt: DateTime.Utc | undefined
    }
  | { readonly _tag: "Failed"; readonly message: string }

/**
 * @since 0.1.0
 */
export interface SlotStatus {
  readonly slot: number
  readonly state: SlotState
  readonly attempts: number
  readonly hits: number
  /** Seconds between now and the `receivedTimeGMT` of the slot's latest hit. */
  readonly lagSeconds: number | undefined
  /** Seconds without a stream before the slot's current or latest stream started. */
  readonly lastGapSeconds: number | undefined
}

/**
 * Totals since the stream started.
 *
 * @since 0.1.0
 */
export interface Counters {
  readonly hits: number
  readonly bytes: number
  readonly malformed: number
  readonly duplicates: number
  readonly attempts: number
}

/**
 * The live board: counts kept in place (hits change too fast to publish each one) and states
 * published to `status` on every transition.
 *
 * @since 0.1.0
 */
export interface Board {
  readonly status: SubscriptionRef.SubscriptionRef<ReadonlyArray<SlotStatus>>
  readonly counts: ReadonlyArray<{
    attempts: number
    hits: number
    lagSeconds: number | undefined
    lastGapSeconds: number | undefined
  }>
  readonly totals: { -readonly [K in keyof Counters]: Counters[K] }
  readonly set: (slot: number, state: SlotState) => Effect.Effect<void>
  readonly snapshot: () => ReadonlyArray<SlotStatus>
}

/**
 * A board for `connections` slots, all idle.
 *
 * @since 0.1.0
 */
export const makeBoard = (connections: number): Effect.Effect<Board> =>
  Effect.gen(function* () {
    const slots = Array.from({ length: connections }, (_, slot) => slot)
    const counts = slots.map(() => ({
      attempts: 0,
      hits: 0,
      lagSeconds: undefined as number | undefined,
      lastGapSeconds: undefined as number | undefined
    }))
    const states: Array<SlotState> = slots.map(() => ({ _tag: "Idle" }))
    const snapshot = (): ReadonlyArray<SlotStatus> =>
      slots.map((slot) => ({ slot, state: states[slot], ...counts[slot] }))
    const status = yield* SubscriptionRef.make(snapshot())
    return {
      status,
      counts,
      totals: { hits: 0, bytes: 0, malformed: 0, duplicates: 0, attempts: 0 },
      snapshot,
      set: (slot, state) =>
        Effect.suspend(() => {
          states[slot] = state
          return SubscriptionRef.set(status, snapshot())
        })
    }
  })

/**
 * One slot's problem, in words an operator can act on.
 *
 * @since 0.1.0
 */
export interface SlotProblem {
  readonly slot: number
  readonly problem: string
}

/**
 * The verdict: healthy when no slot has a problem.
 *
 * @since 0.1.0
 */
export interface Health {
  readonly ok: boolean
  readonly problems: ReadonlyArray<SlotProblem>
}

/**
 * How late a slot may be before it counts as stuck: a sleeping fiber wakes within milliseconds,
 * but a busy event loop or a long GC pause may delay it by seconds.
 *
 * @since 0.1.0
 */
export const graceMillis = 10_000

/**
 * Judges the slots at `now` (a `DateTime`, or Unix milliseconds). Pure.
 *
 * @since 0.1.0
 */
export const health = (
  statuses: ReadonlyArray<SlotStatus>,
  at: DateTime.DateTime | number,
  config: { readonly connectTimeout: Duration.Input }
): Health => {
  const now = typeof at === "number" ? at : DateTime.toEpochMillis(at)
  const connectTimeout = Duration.toMillis(Duration.fromInputUnsafe(config.connectTimeout))
  const problems: Array<SlotProblem> = []
  for (const { slot, state } of statuses) {
    switch (state._tag) {
      case "Failed":
        problems.push({ slot, problem: `stopped: ${state.message}` })
        break
      case "Connecting":
        if (now - DateTime.toEpochMillis(state.since) > connectTimeout + graceMillis) {
          problems.push({
            slot,
            problem: `connecting for ${Math.round((now - DateTime.toEpochMillis(state.since)) / 1000)} s, past the ${Math.round(connectTimeout / 1000)} s connect timeout`
          })
        }
        break
      case "Waiting":
        if (now - DateTime.toEpochMillis(state.until) > graceMillis) {
          problems.push({
            slot,
            problem: `waiting ${Math.round((now - DateTime.toEpochMillis(state.until)) / 1000)} s past its planned reconnect`
          })
        }
        break
    }
  }
  return { ok: problems.length === 0, problems }
}
