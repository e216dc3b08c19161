/**
 * @hitstream/client: the Adobe Analytics Live Stream as composable Effect services.
 *
 * @since 0.1.0
 */

/**
 * @since 0.1.0
 */
export * as Connection from "./Connection.ts"

/**
 * @since 0.1.0
 */
export * as ConnectionJournal from "./ConnectionJournal.ts"

/**
 * @since 0.1.0
 */
export * as LiveStream from "./LiveStream.ts"

/**
 * @since 0.1.0
 */
export * as LiveStreamConfig from "./LiveStreamConfig.ts"

/**
 * @since 0.1.0
 */
export * as NodeLiveStream from "./NodeLiveStream.ts"

/**
 * @since 0.1.0
 */
export * as Network from "./Network.ts"

/**
 * @since 0.1.0
 */
export * as Reorder from "./Reorder.ts"

/**
 * @since 0.1.0
 */
export * as SlotLease from "./SlotLease.ts"

/**
 * @since 0.1.0
 */
export * as TokenProvider from "./TokenProvider.ts"
