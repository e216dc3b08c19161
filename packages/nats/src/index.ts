/**
 * @hitstream/nats: hitstream fleet mode: a JetStream sink of Live Stream hits and slot leases in a KV bucket, as Effect layers
 *
 * @since 0.1.0
 */
export {}
