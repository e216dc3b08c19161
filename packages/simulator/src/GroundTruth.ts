/**
 * What the simulator did, exactly: every stream attempt and how it ended, who held which
 * partition when, and every hit that reached a socket. A hit counts as sent only once the
 * socket's write of its last byte completed: what a connection closed on is not counted.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import * as HitGenerator from "./HitGenerator.ts"
import type * as StreamModel from "./StreamModel.ts"

/**
 * How an attempt ended, from the server's side.
 *
 * @since 0.1.0
 */
export type AttemptEnd =
  | "rejected"
  | "redirected"
  | "client-closed"
  | "dropped"
  | "ended"
  | "truncated"
  | "garbage"
  | "server-closed"

/**
 * One request to a stream endpoint, as the simulator saw and answered it.
 *
 * @since 0.1.0
 */
export interface Attempt {
  readonly attempt: number
  readonly endpoint: string
  readonly apiVersion: 1 | 2
  readonly listener: "main" | "redirect"
  /** Wall-clock milliseconds when the request arrived. */
  readonly at: number
  /** Monotonic nanoseconds when the request arrived, for spacing checks. */
  readonly monotonic: string
  readonly query: Record<string, string>
  readonly headers: {
    readonly authorization: boolean
    readonly apiKey: boolean
    readonly acceptEncoding: string | undefined
    readonly httpVersion: string
  }
  status: number
  description: string | undefined
  maxConnections: number | undefined
  /** The partitions this connection holds (or held last). */
  partitions: ReadonlyArray<number>
  /** Its assignment over time: each change, from its join to its timeout. */
  assignments: Array<{ readonly at: number; readonly partitions: ReadonlyArray<number> }>
  /** Global hit indexes: where delivery started, and the scan position written up to. */
  fromIndex: number | undefined
  toIndex: number | undefined
  /** Hits written to the socket (duplicates included). */
  hitsSent: number
  /** Of those, re-sends of hits an earlier holder of the partition had written. */
  duplicatesSent: number
  endedAt: number | undefined
  end: AttemptEnd | undefined
}

/**
 * A hit the simulator sent at least once.
 *
 * @since 0.1.0
 */
export interface SentHit {
  readonly index: number
  readonly hitIdHigh: string
  readonly hitIdLow: string
}

/**
 * An assignment change of an endpoint's group.
 *
 * @since 0.1.0
 */
export interface AssignmentRecord extends StreamModel.AssignmentEvent {
  readonly endpoint: string
}

// Sorted, disjoint, non-adjacent [from, to) ranges: appends and extensions are the common case.
class Ranges {
  readonly list: Array<[number, number]> = []
  add(from: number, to: number) {
    if (to <= from) return
    const list = this.list
    let i = list.length
    while (i > 0 && list[i - 1][0] > from) i--
    // list[i - 1] starts at or before `from`: merge with it if they touch.
    if (i > 0 && list[i - 1][1] >= from) {
      i--
      list[i][1] = Math.max(list[i][1], to)
    } else list.splice(i, 0, [from, to])
    while (i + 1 < list.length && list[i + 1][0] <= list[i][1]) {
      list[i][1] = Math.max(list[i][1], list[i + 1][1])
      list.splice(i + 1, 1)
    }
  }
}

/**
 * @since 0.1.0
 */
export interface GroundTruth {
  readonly attempts: Array<Attempt>
  /** Logs a new stream request, numbered, with nothing decided yet. */
  readonly begin: (
    request: Pick<Attempt, "endpoint" | "apiVersion" | "listener" | "at" | "monotonic" | "query" | "headers">
  ) => Attempt
  readonly assignments: Array<AssignmentRecord>
  /** Records a group change, and each member's new assignment on its attempt. */
  readonly assigned: (endpoint: string, event: StreamModel.AssignmentEvent) => void
  /** Hits of partition `p` in [from, to) reached a socket. */
  readonly sentRange: (p: number, from: number, to: number) => void
  readonly sent: Effect.Effect<ReadonlyArray<SentHit>>
  readonly log: Effect.Effect<ReadonlyArray<Attempt>>
  readonly settledLog: Effect.Effect<ReadonlyArray<Attempt>>
}

/**
 * @since 0.1.0
 */
export const make = (options: {
  readonly seed: number
  readonly recordSent: boolean
  readonly partitionOf: (n: number) => number
  readonly partitions: number
}): GroundTruth => {
  const attempts: Array<Attempt> = []
  const assignments: Array<AssignmentRecord> = []
  const ranges = Array.from({ length: options.partitions }, () => new Ranges())
  const log = Effect.sync(() => attempts.map((a) => ({ ...a, assignments: [...a.assignments] })))
  return {
    attempts,
    begin: (request) => {
      const attempt: Attempt = {
        attempt: attempts.length + 1,
        ...request,
        status: 0,
        description: undefined,
        maxConnections: undefined,
        partitions: [],
        assignments: [],
        fromIndex: undefined,
        toIndex: undefined,
        hitsSent: 0,
        duplicatesSent: 0,
        endedAt: undefined,
        end: undefined
      }
      attempts.push(attempt)
      return attempt
    },
    assignments,
    assigned: (endpoint, event) => {
      assignments.push({ endpoint, ...event })
      for (const m of event.assignment) {
        const attempt = attempts[m.member - 1]
        if (attempt === undefined) continue
        const last = attempt.assignments.at(-1)?.partitions
        if (last === undefined || last.join() !== m.partitions.join()) {
          attempt.assignments.push({ at: event.at, partitions: m.partitions })
          attempt.partitions = m.partitions
        }
      }
      // A member that timed out holds nothing any more.
      if (event.cause === "expire") {
        const attempt = attempts[event.member - 1]
        if (attempt !== undefined && attempt.partitions.length > 0) {
          attempt.assignments.push({ at: event.at, partitions: [] })
        }
      }
    },
    sentRange: (p, from, to) => {
      if (options.recordSent) ranges[p].add(from, to)
    },
    sent: Effect.sync(() => {
      const out: Array<SentHit> = []
      const cursor = ranges.map(() => 0)
      const end = Math.max(0, ...ranges.map((r) => r.list.at(-1)?.[1] ?? 0))
      for (let n = 0; n < end; n++) {
        const p = options.partitionOf(n)
        const list = ranges[p].list
        while (cursor[p] < list.length && list[cursor[p]][1] <= n) cursor[p]++
        const range = list[cursor[p]]
        if (range !== undefined && range[0] <= n)
          out.push({ index: n, ...HitGenerator.idsOf(options.seed, n) })
      }
      return out
    }),
    log,
    // A client's close reaches the server a moment after the client saw its last byte.
    settledLog: Effect.gen(function* () {
      for (let i = 0; i < 200 && attempts.some((a) => a.end === undefined); i++) yield* Effect.sleep(10)
      return yield* log
    })
  }
}
