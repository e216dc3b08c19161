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
