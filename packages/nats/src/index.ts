/**
 * @hitstream/nats: fleet mode. A JetStream sink of Live Stream hits, and slot leases and the
 * 60-second rule in a JetStream KV bucket, as Effect layers.
 *
 * @since 0.1.0
 */

/**
 * @since 0.1.0
 */
export * as LeaseRules from "./LeaseRules.ts"

/**
 * @since 0.1.0
 */
export * as NatsClient from "./NatsClient.ts"

/**
 * @since 0.1.0
 */
export * as JetStreamSink from "./JetStreamSink.ts"

/**
 * @since 0.1.0
 */
export * as FleetBucket from "./FleetBucket.ts"

/**
 * @since 0.1.0
 */
export * as FleetJournal from "./FleetJournal.ts"

/**
 * @since 0.1.0
 */
export * as SlotLeases from "./SlotLeases.ts"

/**
 * @since 0.1.0
 */
export * as JetStreamStream from "./JetStreamStream.ts"
