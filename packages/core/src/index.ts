/**
 * @hitstream/core: the parts of a Live Stream client that need no network.
 *
 * @since 0.1.0
 */

/**
 * @since 0.1.0
 */
export * as ClientConfig from "./ClientConfig.ts"

/**
 * @since 0.1.0
 */
export * as Config from "./Config.ts"

/**
 * @since 0.1.0
 */
export * as ConnectionEnd from "./ConnectionEnd.ts"

/**
 * @since 0.1.0
 */
export * as Dedup from "./Dedup.ts"

/**
 * @since 0.1.0
 */
export * as DurationString from "./DurationString.ts"

/**
 * @since 0.1.0
 */
export * as Framing from "./Framing.ts"

/**
 * @since 0.1.0
 */
export * as HeaderValue from "./HeaderValue.ts"

/**
 * @since 0.1.0
 */
export * as Hit from "./Hit.ts"

/**
 * @since 0.1.0
 */
export * as ReconnectPolicy from "./ReconnectPolicy.ts"

/**
 * @since 0.1.0
 */
export * as ReconnectPolicyOptions from "./ReconnectPolicyOptions.ts"

/**
 * @since 0.1.0
 */
export * as RedactedUrl from "./RedactedUrl.ts"

/**
 * @since 0.1.0
 */
export { redactUrl } from "./RedactedUrl.ts"

/**
 * @since 0.1.0
 */
export * as RetryAfter from "./RetryAfter.ts"

/**
 * @since 0.1.0
 */
export * as StreamFatalError from "./StreamFatalError.ts"
