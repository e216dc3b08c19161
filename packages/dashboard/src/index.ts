/**
 * @hitstream/dashboard: hitstream's live dashboard: slots, spacing, hits/s, lag and top pages in the browser, as an Effect layer
 *
 * @since 0.1.0
 */

/**
 * @since 0.1.0
 */
export * as Assets from "./Assets.ts"

/**
 * @since 0.1.0
 */
export * as Broadcast from "./Broadcast.ts"

/**
 * @since 0.1.0
 */
export * as Dashboard from "./Dashboard.ts"

/**
 * @since 0.1.0
 */
export * as Summary from "./Summary.ts"

/**
 * @since 0.1.0
 */
export * as Timeline from "./Timeline.ts"

/**
 * @since 0.1.0
 */
export * as Window from "./Window.ts"
