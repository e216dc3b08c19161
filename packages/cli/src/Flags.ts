/**
 * The flags of `run` and `enable`, one per setting, typed as people type them: bare switches
 * (`--smoothing`, `--no-smoothing`) for booleans, integers for counts and ports, text otherwise.
 * Each shows its environment variable in `--help`.
 *
 * @since 0.1.0
 */
import { Option } from "effect"
import { Flag } from "effect/cli"
import * as SettingKeys from "./SettingKeys.ts"

const descriptions: Record<string, string> = {
  url: "stream URI Adobe provisioned, e.g. https://livestream.adobe.net/api/1/stream/NAME",
  clientId: "IMS client id (also sent as x-api-key)",
  tokenUrl: "IMS token endpoint (default https://ims-na1.adobelogin.com/ims/token/v3)",
  scopes: "comma-separated IMS scopes, copied from the Developer Console project",
  maxConnections: "clients sharing the stream, 1 to 8; every client must send the same value",
  connections: "slots (connections) this process opens, 1 to maxConnections (default 1)",
  reset: "where a (re)connection starts: smallest|largest (also earliest|latest)",
  smoothing: "ask the server to even out bursts (--no-smoothing overrides the environment or file)",
  smoothingBucketSize: "smoothing window in seconds, 1 to 7200",
  minReconnectDelay: "wait after a lost connection before the next, e.g. 60s (default 60s: Adobe's rule)",
  maxReconnectDelay: "cap of the growing wait after repeated failures (default: backfillWindow / 1.2, 150s)",
  healthyAfter:
    "a connection that delivered hits for this long resets the growth (default: minReconnectDelay, at least 5s)",
  backfillWindow: "how long a gap the server backfills (default 3m); longer gaps log a warning",
  stallTimeout: "treat this long without bytes as a lost connection (default off: quiet suites send nothing)",
  connectTimeout: "give up on a connection attempt after this long (default 2m)",
  trustedRedirectHosts: "comma-separated hosts (or *.domain) that redirects may send the token to",
  tracePropagation: "send trace headers (traceparent, b3) to Adobe and IMS (default off)",
  dedupCapacity: "hits remembered for dropping duplicates (default 1000000, ~25 B each)",
  bufferSize: "hits held for a slow sink before reading pauses (default 512)",
  maxRecordSize: "skip (and count) a record longer than this, e.g. 1MB (default), 512KB",
  sink: "where hits go: stdout (default), file:PATH, or nats://HOST:PORT[,HOST:PORT...]/STREAM[?subjectPrefix=hits&replicas=3] (JetStream; tls:// for TLS)",
  fleet:
    "share the stream's slots with other processes through NATS: nats://HOST:PORT[,...][/BUCKET][?replicas=3&ttl=15s]; replaces --connections",
  natsCredsFile:
    "NATS creds file (or set HITSTREAM_NATS_CREDS; or HITSTREAM_NATS_USER and HITSTREAM_NATS_PASSWORD)",
  format: "raw (each record's original JSON, byte for byte; default) or json (ids as exact decimal strings)",
  stateDir: "where each slot's last connection end is kept for restart-safe spacing (created 0700)",
  metricsPort:
    "serve /metrics (Prometheus) and /healthz on this port (of 127.0.0.1 unless the host below says otherwise)",
  metricsHost: "address the metrics server listens on (default 127.0.0.1; 0.0.0.0 exposes it)",
  dashboardPort: "serve the live dashboard (slots, spacing, hits/s, lag, top pages) on --dashboard-host:PORT",
  dashboardHost: "address for --dashboard-port (default 127.0.0.1; anything else exposes it)",
  logLevel: "debug|info|warn|error (logs go to stderr)",
  logFormat: "pretty|json",
  rotateSize: "file sink: rotate at this size, e.g. 100MB",
  rotateInterval: "file sink: rotate at this age, e.g. 1h",
  rotateGzip: "file sink: gzip rotated files",
  fileMode: "mode of the files and state directory created, e.g. 0640 (default 0600, directories 0700)",
  clientSecretFile: "file holding the IMS client secret (or set HITSTREAM_CLIENT_SECRET)",
  accessTokenFile: "file holding a static access token (or set HITSTREAM_ACCESS_TOKEN)",
  caFile:
    "PEM file of CAs to trust on top of the system's, e.g. a company CA that re-signs TLS (NODE_EXTRA_CA_CERTS works too)",
  proxy:
    "proxy for every request, http://[user:password@]host:port, instead of HTTPS_PROXY/HTTP_PROXY (NO_PROXY still applies)"
}

/**
 * A flag's value as given: text, an integer or a switch.
 *
 * @since 0.1.0
 */
export type Value = string | number | boolean

const settingFlag = (key: string): Flag.Flag<Option.Option<Value>> => {
  const name = SettingKeys.flagName(key)
  const base: Flag.Flag<Value> = SettingKeys.booleanKeys.has(key)
    ? Flag.Boolean(name)
    : SettingKeys.integerKeys.has(key)
      ? Flag.Int(name)
      : Flag.String(name)
  return base.pipe(
    Flag.withDescription(`${descriptions[key] ?? key} [env ${SettingKeys.envName(key)}]`),
    Flag.optional
  )
}

/**
 * One flag per setting, by key.
 *
 * @since 0.1.0
 */
export const settings: Record<string, Flag.Flag<Option.Option<Value>>> = Object.fromEntries(
  SettingKeys.keys.map((key) => [key, settingFlag(key)])
)

/**
 * `--config FILE`
 *
 * @since 0.1.0
 */
export const config = Flag.String("config").pipe(
  Flag.withDescription(
    "JSON or YAML file with the same keys (camelCase), no secrets; flags > env > file > defaults [env HITSTREAM_CONFIG]"
  ),
  Flag.optional
)

/**
 * `--limit N`
 *
 * @since 0.1.0
 */
export const limit = Flag.Int("limit").pipe(
  Flag.withDescription("stop after this many hits, exit 0"),
  Flag.optional
)

/**
 * `--duration 30s`
 *
 * @since 0.1.0
 */
export const duration = Flag.String("duration").pipe(
  Flag.withDescription("stop after this long, e.g. 30s or 2h, exit 0"),
  Flag.optional
)

/**
 * The flags' values by key, the ones not given left out.
 *
 * @since 0.1.0
 */
export const given = (flags: Record<string, Option.Option<Value>>): Record<string, Value> => {
  const out: Record<string, Value> = {}
  for (const key of SettingKeys.keys) {
    const value = flags[key]
    if (value !== undefined && Option.isSome(value)) out[key] = value.value
  }
  return out
}
