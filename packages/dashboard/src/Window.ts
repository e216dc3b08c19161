/**
 * What is flowing, summarised per second: hits/s and lag over the last 15 minutes, and the top
 * pages, countries and report suites over the last 5 minutes.
 *
 * Pure and synchronous (no clock, no I/O): the caller says what second it is. Hits land in
 * one-second buckets; running totals per key are kept as buckets enter and leave the window, so
 * recording a hit costs a few map updates and reading the top N costs a sort of the distinct keys,
 * never a pass over the hits. Memory is bounded however many hits arrive: 900 series buckets,
 * and at most `maxKeys` distinct keys per dimension (later ones count as `(other)`).
 *
 * @since 0.1.0
 */
import type { Hit } from "@hitstream/core"

/**
 * The dimensions the top tables rank.
 *
 * @since 0.1.0
 */
export const dimensions = ["pages", "countries", "suites"] as const

/**
 * @since 0.1.0
 */
export type Dimension = (typeof dimensions)[number]

/**
 * @since 0.1.0
 */
export interface Options {
  /** Seconds of hits/s and lag history (default 900: 15 minutes). */
  readonly seriesSeconds: number
  /** Seconds the top tables cover (default 300: 5 minutes). */
  readonly topSeconds: number
  /** Distinct keys kept per dimension within the window; more are counted as `(other)`. */
  readonly maxKeys: number
}

/**
 * @since 0.1.0
 */
export const defaults: Options = { seriesSeconds: 900, topSeconds: 300, maxKeys: 5_000 }

/**
 * The key counted for hits that lack the field.
 *
 * @since 0.1.0
 */
export const none = "(none)"

/**
 * The key counted once `maxKeys` distinct keys are in the window.
 *
 * @since 0.1.0
 */
export const other = "(other)"

/** Keys longer than this are cut: a page name is a label, not a payload. */
const maxKeyLength = 120

/**
 * The key a hit is counted under, for one dimension.
 *
 * @since 0.1.0
 */
export const keyOf = (hit: Hit.Hit, dimension: Dimension): string => {
  const value =
    dimension === "pages" ? hit.pageName : dimension === "countries" ? hit["geoCountry"] : hit.reportSuite
  if (typeof value !== "string" && typeof value !== "number") return none
  const text = String(value)
  if (text.length === 0) return none
  return text.length > maxKeyLength ? `${text.slice(0, maxKeyLength - 1)}…` : text
}

interface SeriesBucket {
  second: number
  hits: number
  lagSum: number
  lagCount: number
}

interface TopBucket {
  second: number
  readonly counts: Record<Dimension, Map<string, number>>
}

/**
 * The windows. Mutable, owned by one caller.
 *
 * @since 0.1.0
 */
export interface Window {
  readonly options: Options
  /** The first second anything was recorded or advanced to: the series starts here. */
  readonly startSecond: number
  /** The latest second seen. */
  nowSecond: number
  readonly series: Array<SeriesBucket | undefined>
  readonly top: Array<TopBucket | undefined>
  readonly totals: Record<Dimension, Map<string, number>>
}

const emptyCounts = (): Record<Dimension, Map<string, number>> => ({
  pages: new Map(),
  countries: new Map(),
  suites: new Map()
})

/**
 * Empty windows starting at `nowSecond` (Unix seconds).
 *
 * @since 0.1.0
 */
export const make = (nowSecond: number, options: Partial<Options> = {}): Window => {
  const all = { ...defaults, ...options }
  return {
    options: all,
    startSecond: nowSecond,
    nowSecond,
    series: new Array(all.seriesSeconds).fill(undefined),
    top: new Array(all.topSeconds).fill(undefined),
    totals: emptyCounts()
  }
}

const slot = (second: number, length: number) => ((second % length) + length) % length

const expireTop = (window: Window, bucket: TopBucket) => {
  for (const dimension of dimensions) {
    const totals = window.totals[dimension]
    for (const [key, count] of bucket.counts[dimension]) {
      const left = (totals.get(key) ?? 0) - count
      if (left > 0) totals.set(key, left)
      else totals.delete(key)
    }
  }
}

/**
 * Moves the window to `nowSecond`: buckets older than each window are forgotten (and their
 * counts leave the running totals). Time never goes back: an earlier second is ignored.
 *
 * @since 0.1.0
 */
export const advance = (window: Window, nowSecond: number): void => {
  if (nowSecond <= window.nowSecond) return
  const { topSeconds } = window.options
  // Only buckets that fall out between the old and the new edge need visiting.
  const from = Math.max(window.nowSecond - topSeconds + 1, nowSecond - topSeconds - topSeconds + 1)
  for (let second = from; second <= nowSecond - topSeconds; second++) {
    const i = slot(second, topSeconds)
    const bucket = window.top[i]
    if (bucket !== undefined && bucket.second <= nowSecond - topSeconds) {
      expireTop(window, bucket)
      window.top[i] = undefined
    }
  }
  window.nowSecond = nowSecond
}

/**
 * Counts `hits` as arriving at `atMillis` (Unix milliseconds): their lag is that moment minus
 * each one's `receivedTimeGMT`.
 *
 * @since 0.1.0
 */
export const record = (window: Window, hits: ReadonlyArray<Hit.Hit>, atMillis: number): void => {
  if (hits.length === 0) return
  const second = Math.floor(atMillis / 1000)
  advance(window, second)
  if (second < window.nowSecond - window.options.topSeconds + 1) return
  const { seriesSeconds, topSeconds, maxKeys } = window.options
  const si = slot(second, seriesSeconds)
  let series = window.series[si]
  if (series === undefined || series.second !== second) {
    series = { second, hits: 0, lagSum: 0, lagCount: 0 }
    window.series[si] = series
  }
  const ti = slot(second, topSeconds)
  let top = window.top[ti]
  if (top === undefined || top.second !== second) {
    if (top !== undefined) expireTop(window, top)
    top = { second, counts: emptyCounts() }
    window.top[ti] = top
  }
  const atSeconds = atMillis / 1000
  for (let h = 0; h < hits.length; h++) {
    const hit = hits[h]
    series.hits++
    const received = hit.receivedTimeGMT
    if (typeof received === "number" && Number.isFinite(received)) {
      series.lagSum += Math.max(0, atSeconds - received)
      series.lagCount++
    }
    for (const dimension of dimensions) {
      const totals = window.totals[dimension]
      let key = keyOf(hit, dimension)
      if (!totals.has(key) && totals.size >= maxKeys) key = other
      totals.set(key, (totals.get(key) ?? 0) + 1)
      const counts = top.counts[dimension]
      counts.set(key, (counts.get(key) ?? 0) + 1)
    }
  }
}

/**
 * @since 0.1.0
 */
export interface Ranked {
  readonly key: string
  readonly count: number
}

/**
 * The `n` keys with the most hits in the last `topSeconds` seconds, most first (ties by key).
 *
 * @since 0.1.0
 */
export const top = (window: Window, dimension: Dimension, n: number): Array<Ranked> =>
  Array.from(window.totals[dimension], ([key, count]) => ({ key, count }))
    .sort((a, b) => b.count - a.count || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    .slice(0, n)

/**
 * Hits counted in the top window (the sum over one dimension).
 *
 * @since 0.1.0
 */
export const topTotal = (window: Window): number => {
  let total = 0
  for (const count of window.totals.pages.values()) total += count
  return total
}

/**
 * One second of the series: hits in it, and the mean lag of those hits (`null` without any).
 *
 * @since 0.1.0
 */
export interface Point {
  readonly second: number
  readonly hits: number
  readonly lag: number | null
}

/**
 * The seconds from `fromSecond` to `toSecond` (inclusive) that lie within both the series
 * window and the dashboard's lifetime; a second with no hits has 0 hits and no lag.
 *
 * @since 0.1.0
 */
export const points = (window: Window, fromSecond: number, toSecond: number): Array<Point> => {
  const { seriesSeconds } = window.options
  const first = Math.max(fromSecond, window.startSecond, toSecond - seriesSeconds + 1)
  const out: Array<Point> = []
  for (let second = first; second <= toSecond; second++) {
    const bucket = window.series[slot(second, seriesSeconds)]
    out.push(
      bucket !== undefined && bucket.second === second
        ? {
            second,
            hits: bucket.hits,
            lag: bucket.lagCount === 0 ? null : Math.round((bucket.lagSum / bucket.lagCount) * 10) / 10
          }
        : { second, hits: 0, lag: null }
    )
  }
  return out
}
