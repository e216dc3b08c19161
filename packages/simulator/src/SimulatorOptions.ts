/**
 * The simulator's settings and their defaults. Every duration is in milliseconds.
 *
 * @since 0.1.0
 */
import type * as Scenario from "./Scenario.ts"
import type * as Tls from "./Tls.ts"

/**
 * A scripted burst of traffic: `hits` more hits generated at once, `at` milliseconds after the
 * stream's first connection (on top of `rate`). What smoothing spreads out.
 *
 * @since 0.1.0
 */
export interface Burst {
  readonly at: number
  readonly hits: number
}

/**
 * @since 0.1.0
 */
export interface Options {
  readonly host: string
  readonly port: number
  /** The redirect listener's port (0: any free port). */
  readonly redirectPort: number
  /** The host name written into redirect `Location`s, e.g. `localhost` where clients use 127.0.0.1. */
  readonly redirectHost: string | undefined
  /** When the main listener redirects stream requests: never, the first request only, or always. */
  readonly redirect: "never" | "first" | "always"
  readonly seed: number
  /** Hits generated per second; `Infinity` generates as fast as the client reads; 0 means no traffic. */
  readonly rate: number
  /** Scripted bursts on top of `rate`. */
  readonly bursts: ReadonlyArray<Burst>
  /** Stop generating after this many hits (the stream stays open and quiet). */
  readonly totalHits: number | undefined
  /** With no traffic: answer 503 at connect (the older docs) or keep an open, silent stream. */
  readonly noTraffic: "503" | "silent"
  /** Probability of an extra empty record after a record. */
  readonly emptyRecordRate: number
  /**
   * The deflate level, 1 (fastest) to 9. The level changes nothing a client can observe but the
   * compression ratio; level 1 is what lets one core push 50,000 hits/s.
   */
  readonly gzipLevel: number
  /** The largest chunk written at once; chunk sizes are drawn from 1 to this. */
  readonly maxChunkSize: number
  readonly endpoints: ReadonlyArray<string>
  /** Endpoints that answer 404 as streams disabled after 90 days without a client. */
  readonly disabledEndpoints: ReadonlyArray<string>
  /** Endpoints already enabled for the current API version (`/api/2`). */
  readonly v2Endpoints: ReadonlyArray<string>
  readonly clientId: string
  readonly clientSecret: string
  readonly tokenLifetimeSeconds: number
  /**
   * How many partitions a stream has (hits are keyed by visitor). They are shared by the open
   * connections, whatever `maxConnections` says: a lone client gets them all.
   */
  readonly partitions: number
  /**
   * The session timeout: how long a dropped connection stays a member of the group, holding its
   * partitions undelivered and counting against `maxConnections` (hence the 409).
   */
  readonly gracePeriod: number
  /** Probability that a connection refused during the grace period gets 503 instead of 409. */
  readonly graceRejection503Probability: number
  /** A partition left undelivered longer than this resumes at the newest hit (the rest is lost). */
  readonly backfillWindow: number
  /** Per partition, how far the committed position lags what was written: the duplicates on a handover. */
  readonly backfillDuplicates: number
  readonly scenario: ReadonlyArray<Scenario.Step>
  /** Scripted answers of the token endpoint, one per token request. */
  readonly imsScenario: ReadonlyArray<Scenario.ImsStep>
  /**
   * Compress the first `totalHits` hits once, at start, and serve every connection that holds
   * every partition (a lone client) all of them from that buffer, then end it cleanly: for
   * benchmarks, so that what is measured is the client, not the simulator. Positions and
   * scripted steps do not apply.
   */
  readonly preload: boolean
  /** Keep the ground truth of hits sent, for `/_sim/sent` (compact: ranges per partition). */
  readonly recordSent: boolean
  /**
   * Serve HTTPS with this certificate and key (`Tls.generate` makes a pair and its CA): the
   * stream, the IMS stand-in and the redirect listener alike. Plain HTTP when absent.
   */
  readonly tls: Tls.Credentials | undefined
}

/**
 * @since 0.1.0
 */
export const defaults: Options = {
  host: "127.0.0.1",
  port: 0,
  redirectPort: 0,
  redirectHost: undefined,
  redirect: "never",
  seed: 1,
  rate: 200,
  bursts: [],
  totalHits: undefined,
  noTraffic: "silent",
  emptyRecordRate: 0.01,
  gzipLevel: 1,
  maxChunkSize: 16_384,
  endpoints: ["demo"],
  disabledEndpoints: [],
  v2Endpoints: [],
  clientId: "hitstream-demo",
  clientSecret: "demo-secret",
  tokenLifetimeSeconds: 86_399,
  partitions: 8,
  gracePeriod: 30_000,
  graceRejection503Probability: 0,
  backfillWindow: 300_000,
  backfillDuplicates: 5,
  scenario: [],
  imsScenario: [],
  preload: false,
  recordSent: true,
  tls: undefined
}
