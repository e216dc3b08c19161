/**
 * The measurements, gathered here for `bin/bench.ts`; each figure lives in a module named for what
 * it measures. Every figure is hitstream against a naive baseline measured in the same process and
 * run, over several rounds; the table reports medians with min and max. Nothing here asserts a
 * timing: `npm test` only checks that a `--quick` run prints every row.
 *
 * @since 0.1.0
 */

/**
 * @since 0.1.0
 */
export { decode } from "./Decode.ts"

/**
 * @since 0.1.0
 */
export { endToEnd } from "./EndToEnd.ts"

/**
 * @since 0.1.0
 */
export { latency } from "./Latency.ts"

/**
 * @since 0.1.0
 */
export { memory } from "./Memory.ts"

/**
 * @since 0.1.0
 */
export { reconnect } from "./Reconnect.ts"

/**
 * @since 0.1.0
 */
export { simulatorRate } from "./SimulatorRate.ts"

/**
 * @since 0.1.0
 */
export { full, long, quick, type Sizes } from "./Sizes.ts"

/**
 * @since 0.1.0
 */
export { wholeProcess } from "./WholeProcess.ts"
