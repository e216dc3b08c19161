/**
 * Where one connection stands in the partitions it holds, and the next batch of its hits: pure
 * code over the group's state, no sockets.
 *
 * Hits are numbered across the stream; a connection writes, in index order, the hits of the
 * partitions it owns from each one's start position (set when the group hands it the partition,
 * with the duplicates of a backfill counted as such).
 *
 * @since 0.1.0
 */
import * as HitGenerator from "./HitGenerator.ts"
import * as StreamModel from "./StreamModel.ts"

/**
 * Per partition: all its hits in `[from, to)` are in the batch.
 *
 * @since 0.1.0
 */
export interface Range {
  readonly p: number
  readonly epoch: number
  readonly from: number
  readonly to: number
}

/**
 * What `take` wrote into its target.
 *
 * @since 0.1.0
 */
export interface Taken {
  /** The end of the records in the target. */
  readonly bytes: number
  readonly count: number
  readonly duplicates: number
  /** The stream index the connection now stands at. */
  readonly to: number
  readonly ranges: ReadonlyArray<Range>
}

/**
 * @since 0.1.0
 */
export interface MemberCursor {
  /** Catches up with the group (partitions gained or lost); whether any partition is held. */
  readonly sync: () => boolean
  /** The lowest position over the partitions held. */
  readonly scan: () => number
  /**
   * Writes the next hits below `available`, at most `budget`, as CRLF-terminated records (with
   * an extra CRLF after a record where `emptyRecord()` says so) into `target` from 0, and moves
   * past them.
   */
  readonly take: (batch: {
    readonly available: number
    readonly budget: number
    readonly timeGMT: number
    readonly target: Buffer
    readonly emptyRecord: () => boolean
  }) => Taken
}

// How far one batch looks ahead for hits of its partitions: bounds the work of a batch when the
// connection holds few partitions.
const lookahead = 65_536

/**
 * @since 0.1.0
 */
export const make = (
  seed: number,
  group: StreamModel.Group,
  rules: StreamModel.Rules,
  member: StreamModel.Member
): MemberCursor => {
  const P = rules.partitions
  const owned = Array.from({ length: P }, () => false)
  const epochs = Array.from({ length: P }, () => -1)
  const cursor = Array.from({ length: P }, () => 0)
  const duplicatesUntil = Array.from({ length: P }, () => 0)
  let scan = 0

  const sync = () => {
    let low = Number.POSITIVE_INFINITY
    for (let p = 0; p < P; p++) {
      const part = group.partitions[p]
      owned[p] = part.owner === member.id && member.partitions.includes(p)
      if (!owned[p]) continue
      if (epochs[p] !== part.epoch) {
        epochs[p] = part.epoch
        cursor[p] = part.start
        duplicatesUntil[p] = part.duplicatesUntil
      }
      low = Math.min(low, cursor[p])
    }
    if (low !== Number.POSITIVE_INFINITY) scan = low
    return low !== Number.POSITIVE_INFINITY
  }

  const take: MemberCursor["take"] = ({ available, budget, timeGMT, target, emptyRecord }) => {
    const before = cursor.slice()
    let offset = 0
    let count = 0
    let duplicates = 0
    let n = scan
    while (n < available && count < budget && n - scan < lookahead) {
      const p = rules.partitionOf(n)
      if (owned[p] && n >= cursor[p]) {
        offset = HitGenerator.encodeInto(seed, n, timeGMT, target, offset)
        target[offset++] = 13
        target[offset++] = 10
        if (emptyRecord()) {
          target[offset++] = 13
          target[offset++] = 10
        }
        count++
        if (n < duplicatesUntil[p]) duplicates++
      }
      n++
    }
    const ranges: Array<Range> = []
    for (let p = 0; p < P; p++) {
      if (owned[p] && cursor[p] < n) {
        ranges.push({ p, epoch: epochs[p], from: before[p], to: n })
        cursor[p] = n
      }
    }
    scan = n
    return { bytes: offset, count, duplicates, to: n, ranges }
  }

  return { sync, scan: () => scan, take }
}
