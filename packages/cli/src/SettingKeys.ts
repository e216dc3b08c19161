/**
 * The names of `hitstream run`'s settings: their camelCase keys, flags and environment variables,
 * and which take a switch or an integer. `Settings` validates their values.
 *
 * Apart from `Settings` because the command line is built from these names on every start,
 * `--help` and `--version` included, and must not load the client's validation to do it.
 *
 * @since 0.1.0
 */
import * as ClientConfig from "@hitstream/core/ClientConfig"

/**
 * Settings of the program itself, beside the client's.
 *
 * @since 0.1.0
 */
export const programKeys = [
  "sink",
  "format",
  "stateDir",
  "metricsPort",
  "metricsHost",
  "dashboardPort",
  "dashboardHost",
  "logLevel",
  "logFormat",
  "rotateSize",
  "rotateInterval",
  "rotateGzip",
  "fileMode",
  "maxRecordSize",
  "clientSecretFile",
  "accessTokenFile",
  "fleet",
  "natsCredsFile",
  "caFile",
  "proxy"
] as const

/**
 * Keys that only the environment or a secret file may carry.
 *
 * @since 0.1.0
 */
export const secretKeys: ReadonlyArray<string> = ["clientSecret", "accessToken"]

// The library's byte count is given to the program as a size (`--max-record-size 2MB`).
const clientOnly = new Set(["maxRecordBytes"])

/**
 * The client's keys the program reads.
 *
 * @since 0.1.0
 */
export const clientKeys: ReadonlyArray<string> = Object.keys(ClientConfig.ClientConfigInput.fields).filter(
  (k) => !clientOnly.has(k) && !secretKeys.includes(k)
)

/**
 * Every key a flag, variable or file may set (secrets aside).
 *
 * @since 0.1.0
 */
export const keys: ReadonlyArray<string> = [...clientKeys, ...programKeys]

/**
 * Keys whose flag is a bare switch (`--smoothing`, `--no-smoothing`).
 *
 * @since 0.1.0
 */
export const booleanKeys: ReadonlySet<string> = new Set(["smoothing", "rotateGzip", "tracePropagation"])

/**
 * Keys whose flag takes an integer.
 *
 * @since 0.1.0
 */
export const integerKeys: ReadonlySet<string> = new Set([
  "maxConnections",
  "connections",
  "smoothingBucketSize",
  "dedupCapacity",
  "bufferSize",
  "metricsPort",
  "dashboardPort"
])

/**
 * `maxConnections` -> `max-connections`
 *
 * @since 0.1.0
 */
export const flagName = (key: string) => key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)

/**
 * `maxConnections` -> `HITSTREAM_MAX_CONNECTIONS`
 *
 * @since 0.1.0
 */
export const envName = (key: string): string => ClientConfig.envName(key)
