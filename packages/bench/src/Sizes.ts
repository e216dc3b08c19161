/**
 * How big each figure's run is: the full run, the long memory run and the `--quick` smoke run.
 *
 * @since 0.1.0
 */

/**
 * @since 0.1.0
 */
export interface Sizes {
  readonly rounds: number
  readonly decodeHits: number
  readonly e2eHits: number
  readonly memoryMilestones: ReadonlyArray<number>
  readonly latencySeconds: number
  readonly reconnectCycles: number
}

/**
 * @since 0.1.0
 */
export const full: Sizes = {
  rounds: 3,
  decodeHits: 200_000,
  e2eHits: 100_000,
  memoryMilestones: [250_000, 500_000, 1_000_000],
  latencySeconds: 5,
  reconnectCycles: 20
}

/**
 * 1M, 5M and 10M hits through the pipeline for the memory figure (about 15 minutes more).
 *
 * @since 0.1.0
 */
export const long: Sizes = { ...full, memoryMilestones: [1_000_000, 5_000_000, 10_000_000] }

/**
 * @since 0.1.0
 */
export const quick: Sizes = {
  rounds: 1,
  decodeHits: 5_000,
  e2eHits: 5_000,
  memoryMilestones: [10_000, 20_000, 30_000],
  latencySeconds: 0.5,
  reconnectCycles: 3
}
