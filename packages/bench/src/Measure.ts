/**
 * Timing and garbage-collection helpers shared by the figures. `gc` is there only when the bench
 * runs with `--expose-gc` (as `npm run bench` does); without it, `collect` does nothing.
 *
 * @since 0.1.0
 */

/**
 * @since 0.1.0
 */
export const now = () => performance.now()

/**
 * @since 0.1.0
 */
export const gc = (globalThis as { gc?: () => void }).gc

/**
 * @since 0.1.0
 */
export const collect = () => {
  gc?.()
  gc?.()
}

/**
 * Seconds `f` takes.
 *
 * @since 0.1.0
 */
export const time = async (f: () => Promise<unknown>) => {
  const start = now()
  await f()
  return (now() - start) / 1000
}
