/**
 * How many hits exist at a time, and how many smoothing lets through: pure functions of the
 * time since the stream's first connection.
 *
 * Smoothing is the documented averaging: with a window of `W` seconds, what has been released by
 * `t` is the mean, over `[t - W, t]`, of what had been generated. A burst of `N` hits is thus
 * spread evenly over the next `W` seconds (`N / W` per second), nothing is dropped, and a steady
 * stream lags by `W / 2`.
 *
 * @since 0.1.0
 */
import type { Burst } from "./SimulatorOptions.ts"

/**
 * @since 0.1.0
 */
export interface Traffic {
  /** Hits per second; `Infinity`: every hit exists from the start. */
  readonly rate: number
  readonly bursts: ReadonlyArray<Burst>
  /** The supply; `Infinity` when unbounded. */
  readonly total: number
}

const burstsUpTo = (traffic: Traffic, elapsed: number) => {
  let sum = 0
  for (const b of traffic.bursts) if (b.at <= elapsed) sum += b.hits
  return sum
}

// The generated count as a continuous function (before the floor), for integrating.
const level = (traffic: Traffic, s: number) => {
  if (s < 0) return 0
  if (traffic.rate === Number.POSITIVE_INFINITY) return traffic.total
  return Math.min(traffic.total, (traffic.rate * s) / 1000 + burstsUpTo(traffic, s))
}

/**
 * Hits generated `elapsed` milliseconds after the stream's first connection.
 *
 * @since 0.1.0
 */
export const generated = (traffic: Traffic, elapsed: number): number => Math.floor(level(traffic, elapsed))

// The exact integral of `level` over [a, b]: linear between bursts, flat once capped.
const integral = (traffic: Traffic, a: number, b: number) => {
  const from = Math.max(0, a)
  if (b <= from) return 0
  const points = [from, ...traffic.bursts.map((x) => x.at).filter((t) => t > from && t < b), b].sort(
    (x, y) => x - y
  )
  const slope = traffic.rate === Number.POSITIVE_INFINITY ? 0 : traffic.rate / 1000
  let area = 0
  for (let i = 0; i + 1 < points.length; i++) {
    const x = points[i]
    const width = points[i + 1] - x
    const start = level(traffic, x)
    const end = start + slope * width
    if (start >= traffic.total) area += traffic.total * width
    else if (end <= traffic.total) area += ((start + end) / 2) * width
    else {
      const z = (traffic.total - start) / slope
      area += ((start + traffic.total) / 2) * z + traffic.total * (width - z)
    }
  }
  return area
}

/**
 * Hits released by smoothing over a `bucketSeconds` window, `elapsed` milliseconds in: never
 * more than were generated, and in the end all of them.
 *
 * @since 0.1.0
 */
export const smoothed = (traffic: Traffic, elapsed: number, bucketSeconds: number): number => {
  if (traffic.rate === Number.POSITIVE_INFINITY && traffic.total === Number.POSITIVE_INFINITY) {
    return Number.POSITIVE_INFINITY
  }
  const window = bucketSeconds * 1000
  const mean = integral(traffic, elapsed - window, elapsed) / window
  // A float's last bit must not hold back the final hit of a finished supply.
  return Math.min(generated(traffic, elapsed), Math.floor(mean + 1e-9))
}
