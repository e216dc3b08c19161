/**
 * @hitstream/cli: the `hitstream` program.
 *
 * @since 0.1.0
 */

/**
 * @since 0.1.0
 */
export * as Commands from "./Commands.ts"

/**
 * @since 0.1.0
 */
export * as Demo from "./Demo.ts"

/**
 * @since 0.1.0
 */
export * as Program from "./Program.ts"

/**
 * @since 0.1.0
 */
export * as Run from "./Run.ts"

/**
 * @since 0.1.0
 */
export * as Main from "./Main.ts"

/**
 * @since 0.1.0
 */
export * as Settings from "./Settings.ts"

/**
 * @since 0.1.0
 */
export * as Sink from "./Sink.ts"

/**
 * @since 0.1.0
 */
export * as Shutdown from "./Shutdown.ts"

/**
 * @since 0.1.0
 */
export * as Terminal from "./Terminal.ts"

/**
 * @since 0.1.0
 */
export * as Sources from "./Sources.ts"
