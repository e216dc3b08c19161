/**
 * Optional bounded reordering by `timeGMT`, for consumers that need order across slots.
 *
 * With `maxConnections` > 1 each connection carries a share of the hits, grouped by visitor, and
 * the shares are out of order relative to each other. `byTimeWithin({ hits })` holds up to `hits`
 * hits in a min-heap and releases the earliest whenever it is full, so hits less than `hits`
 * apart in arrival come out in `timeGMT` order; memory stays bounded by `hits`. The window is a
 * count, not a time: a quiet stream is not held back by a timer, and memory has a fixed bound. Ties keep arrival
 * order. Hits without `timeGMT` sort as time 0, first.
 *
 * @since 0.1.0
 */
import type { Hit } from "@hitstream/core"
import { Stream } from "effect"

interface Entry {
  readonly time: number
  readonly seq: number
  readonly hit: Hit.Hit
}

const before = (a: Entry, b: Entry) => a.time < b.time || (a.time === b.time && a.seq < b.seq)

class Heap {
  readonly items: Array<Entry> = []
  push(entry: Entry): void {
    const items = this.items
    items.push(entry)
    let i = items.length - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (!before(items[i], items[parent])) break
      ;[items[i], items[parent]] = [items[parent], items[i]]
      i = parent
    }
  }
  pop(): Entry {
    const items = this.items
    const top = items[0]
    const last = items.pop()!
    if (items.length > 0) {
      items[0] = last
      let i = 0
      for (;;) {
        const l = 2 * i + 1
        const r = l + 1
        let m = i
        if (l < items.length && before(items[l], items[m])) m = l
        if (r < items.length && before(items[r], items[m])) m = r
        if (m === i) break
        ;[items[i], items[m]] = [items[m], items[i]]
        i = m
      }
    }
    return top
  }
}

/**
 * Reorders hits by `timeGMT` within a window of `hits` hits in arrival (at least 1).
 *
 * @since 0.1.0
 */
export const byTimeWithin =
  (window: { readonly hits: number }) =>
  <E, R>(self: Stream.Stream<Hit.Hit, E, R>): Stream.Stream<Hit.Hit, E, R> =>
    Stream.mapAccumArray(
      self,
      () => ({ heap: new Heap(), seq: 0 }),
      (state, hits) => {
        const out: Array<Hit.Hit> = []
        for (const hit of hits) {
          state.heap.push({ time: hit.timeGMT ?? 0, seq: state.seq++, hit })
          if (state.heap.items.length > Math.max(1, window.hits)) out.push(state.heap.pop().hit)
        }
        return [state, out]
      },
      {
        onHalt: (state) => {
          const out: Array<Hit.Hit> = []
          while (state.heap.items.length > 0) out.push(state.heap.pop().hit)
          return out
        }
      }
    )
