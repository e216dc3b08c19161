/**
 * The metrics a `LiveStream` keeps, by name, in Effect's registry (served as Prometheus text by
 * the CLI's `/metrics`). Counters are cumulative; the lag, delay and gap are gauges.
 *
 * @since 0.1.0
 */
import type { ReconnectPolicy } from "@hitstream/core"
import { Metric } from "effect"

/**
 * @since 0.1.0
 */
export const metrics = {
  attempts: Metric.counter("hitstream_connection_attempts_total", {
    description: "Connection attempts, counted as each starts"
  }),
  ends: Metric.counter("hitstream_connection_ends_total", {
    description: "Connection attempts, by how they ended (ended, network, stalled, or the status code)"
  }),
  hits: Metric.counter("hitstream_hits_total", { description: "Hits delivered (after dedup)" }),
  bytes: Metric.counter("hitstream_bytes_total", { description: "Compressed body bytes received" }),
  malformed: Metric.counter("hitstream_malformed_records_total", {
    description: "Records skipped because they were not valid JSON or not a hit"
  }),
  duplicates: Metric.counter("hitstream_duplicates_dropped_total", {
    description: "Hits dropped as repeats within the dedup window"
  }),
  lag: Metric.gauge("hitstream_lag_seconds", {
    description: "Now minus the receivedTimeGMT of the latest hit"
  }),
  reconnectDelay: Metric.gauge("hitstream_reconnect_delay_seconds", {
    description: "The delay the reconnect policy chose after the latest loss"
  }),
  gap: Metric.gauge("hitstream_gap_seconds", {
    description:
      "Seconds without a stream before a slot's latest stream started; past the backfill window (3 min) hits may be lost"
  })
}

/**
 * The `outcome` label of `hitstream_connection_ends_total`.
 *
 * @since 0.1.0
 */
export const outcomeOf = (end: ReconnectPolicy.ConnectionEnd): string =>
  end._tag === "HttpStatus"
    ? String(end.status)
    : end._tag === "Ended"
      ? "ended"
      : end._tag === "Stalled"
        ? "stalled"
        : "network"
