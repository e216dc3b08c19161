/**
 * Loading the client's configuration: from `HITSTREAM_*` environment variables through Effect's
 * `Config`, from a file, or from code, all validated alike into a `ClientConfig`.
 *
 * Every error names the field, the bad value and the valid range, because the person reading
 * it is an operator who typed that value into a unit file or a shell.
 *
 * The configuration's schemas live in `ClientConfig`, the duration syntax in `DurationString`
 * and the checks on header values in `HeaderValue`; they are re-exported here.
 *
 * @since 0.1.0
 */
import {
  Config as EffectConfig,
  ConfigProvider,
  Duration,
  Effect,
  Redacted,
  Schema,
  type SchemaIssue
} from "effect"
import {
  ClientConfig,
  ClientConfigInput,
  envName,
  defaultScopes,
  defaultTokenUrl,
  defaultTrustedRedirectHosts,
  exampleUrl,
  type Input
} from "./ClientConfig.ts"
import * as Dedup from "./Dedup.ts"
import * as Framing from "./Framing.ts"
import * as ReconnectPolicyOptions from "./ReconnectPolicyOptions.ts"

/**
 * @since 0.1.0
 */
export { ClientConfig, ClientConfigInput, defaultScopes, defaultTokenUrl, defaultTrustedRedirectHosts }

/**
 * @since 0.1.0
 */
export type { Input }

/**
 * @since 0.1.0
 */
export { CommaList, Reset } from "./ClientConfig.ts"

/**
 * @since 0.1.0
 */
export { DurationString, parse as parseDuration } from "./DurationString.ts"

/**
 * @since 0.1.0
 */
export { problem as headerProblem } from "./HeaderValue.ts"

const durationFields = new Set([
  "minReconnectDelay",
  "maxReconnectDelay",
  "healthyAfter",
  "backfillWindow",
  "stallTimeout",
  "connectTimeout"
])

/**
 * The configuration cannot be used: says which field, the value, and what is valid.
 *
 * @since 0.1.0
 */
export class ConfigError extends Schema.TaggedError<ConfigError>()("ConfigError", {
  field: Schema.String,
  message: Schema.String
}) {}

// Fills defaults and checks what one field alone cannot: `connections` at most
// `maxConnections`, exactly one way to authenticate, `maxReconnectDelay` not below the minimum.
// Internal: every configuration comes through `load`, so that code, files, flags and the
// environment are validated alike.
const fromInput = Effect.fnUntraced(function* (input: ClientConfigInput) {
  const maxConnections = input.maxConnections ?? 1
  const connections = input.connections ?? 1
  if (connections > maxConnections) {
    return yield* new ConfigError({
      field: "connections",
      message: `connections is ${connections}; it must be from 1 to maxConnections (${maxConnections}): each process opens at most maxConnections slots`
    })
  }
  if (input.clientSecret !== undefined && input.accessToken !== undefined) {
    return yield* new ConfigError({
      field: "accessToken",
      message:
        "both clientSecret and accessToken are set; give one: clientSecret to fetch tokens from IMS, or accessToken to use a token as is"
    })
  }
  if (input.clientSecret === undefined && input.accessToken === undefined) {
    return yield* new ConfigError({
      field: "clientSecret",
      message:
        "no credentials: set clientSecret (HITSTREAM_CLIENT_SECRET, with clientId and scopes from the Developer Console project) or accessToken (HITSTREAM_ACCESS_TOKEN)"
    })
  }
  const policy = yield* ReconnectPolicyOptions.make({
    minReconnectDelay: input.minReconnectDelay,
    maxReconnectDelay: input.maxReconnectDelay,
    healthyAfter: input.healthyAfter,
    backfillWindow: input.backfillWindow
  }).pipe(Effect.mapError((e) => new ConfigError({ field: e.option, message: e.message })))
  const config: ClientConfig = {
    url: input.url,
    clientId: input.clientId,
    auth:
      input.accessToken !== undefined
        ? { _tag: "StaticToken", accessToken: input.accessToken }
        : {
            _tag: "ClientCredentials",
            clientSecret: input.clientSecret!,
            tokenUrl: input.tokenUrl ?? defaultTokenUrl,
            scopes: input.scopes ?? defaultScopes
          },
    maxConnections,
    connections,
    reset: input.reset,
    smoothing: input.smoothing ?? false,
    smoothingBucketSize: input.smoothingBucketSize,
    policy,
    stallTimeout: input.stallTimeout,
    connectTimeout: input.connectTimeout ?? Duration.minutes(2),
    trustedRedirectHosts: input.trustedRedirectHosts ?? defaultTrustedRedirectHosts(input.url),
    dedupCapacity: input.dedupCapacity ?? Dedup.defaultCapacity,
    // 512 parsed hits (about 3.5 MB; each is ~7 KB on the heap) keep a sink busy; 4096 held
    // 28 MB in the queue and as much in the sink's batch during a catch-up, most of the soak's
    // RSS above 200 MB (docs/benchmarks.md, soak).
    bufferSize: input.bufferSize ?? 512,
    maxRecordBytes: input.maxRecordBytes ?? Framing.defaultMaxRecordBytes,
    tracePropagation: input.tracePropagation ?? false
  }
  return config
})

const fieldOf = (issue: SchemaIssue.Issue): string => {
  const path: Array<PropertyKey> = []
  let current: SchemaIssue.Issue | undefined = issue
  while (current !== undefined) {
    if (current._tag === "Pointer") {
      path.push(...current.path)
      current = current.issue
    } else if (current._tag === "Composite" || current._tag === "AnyOf") {
      current = current.issues[0]
    } else if ("issue" in current && current.issue !== undefined) {
      current = current.issue as SchemaIssue.Issue
    } else {
      current = undefined
    }
  }
  return path.map(String).join(".") || "config"
}

/**
 * The configuration through Effect's `Config`, read from any provider.
 *
 * @since 0.1.0
 */
export const config: EffectConfig.Config<ClientConfigInput> = EffectConfig.schema(ClientConfigInput)

/**
 * The environment variable that holds a field: `maxConnections` is `HITSTREAM_MAX_CONNECTIONS`.
 *
 * @since 0.1.0
 */
export { envName } from "./ClientConfig.ts"

/**
 * The `HITSTREAM_*` environment variables as a provider for `config`.
 *
 * Each field is looked up by its full name rather than through the env provider's `_` nesting,
 * under which `HITSTREAM_SMOOTHING_BUCKET_SIZE` would make `smoothing` an object.
 *
 * @since 0.1.0
 */
export const envProvider = (
  env: Record<string, string | undefined> = process.env
): ConfigProvider.ConfigProvider => {
  const values: Record<string, string> = {}
  for (const field of Object.keys(ClientConfigInput.fields)) {
    const value = env[envName(field)]
    if (value !== undefined && value !== "") values[field] = value
  }
  return ConfigProvider.fromUnknown(values)
}

const isSecret = (field: string) => field === "clientSecret" || field === "accessToken"

const required: Record<string, string> = {
  url: `the stream URL, such as ${exampleUrl}`,
  clientId: "the IMS client id of the Developer Console project (also sent as x-api-key)"
}

// Values written in code as their decoded types, turned into the text the same schema decodes
// from the environment, so that code is validated exactly like flags and variables. A duration
// that is not text is a `Duration.Input` (a number is milliseconds, as everywhere in Effect).
const asText = (field: string, value: unknown): unknown => {
  if (durationFields.has(field) && typeof value !== "string") {
    const duration = Duration.fromInput(value as Duration.Input)
    return duration._tag === "Some" ? `${Duration.toMillis(duration.value)}ms` : value
  }
  return Redacted.isRedacted(value)
    ? Redacted.value(value)
    : value instanceof URL
      ? value.href
      : Array.isArray(value)
        ? value.join(",")
        : value
}

const load = (
  provider: ConfigProvider.ConfigProvider,
  describe: (field: string) => { name: string; value: unknown }
) =>
  config.parse(provider).pipe(
    Effect.mapError((error) => {
      const cause = error.cause
      const field = cause._tag === "SchemaError" ? fieldOf(cause.issue) : "config"
      const { name, value } = describe(field)
      const detail = cause.message.split("\n")[0]
      // An empty value reads as absent: either way the field is required.
      if (detail === "Missing key" && (value === undefined || value === "")) {
        return new ConfigError({
          field,
          message: `${name} is required${required[field] ? `: ${required[field]}` : ""}`
        })
      }
      const shown = isSecret(field) ? '"<redacted>"' : JSON.stringify(value)
      return new ConfigError({
        field,
        message: value === undefined ? `${name}: ${detail}` : `${name} is ${shown}: ${detail}`
      })
    }),
    Effect.flatMap(fromInput)
  )

/**
 * Loads and validates the configuration from the environment.
 *
 * @since 0.1.0
 */
export const fromEnv = (env: Record<string, string | undefined> = process.env) =>
  load(envProvider(env), (field) => ({ name: `${envName(field)} (${field})`, value: env[envName(field)] }))

/**
 * Decodes and validates a configuration from any source (a parsed file, flags, code): an
 * object with the fields of `ClientConfigInput`, values as strings, numbers or booleans, or
 * in code as their decoded types (`Redacted`, `Duration.Input`, arrays; see `Input`). Every
 * problem is a `ConfigError` naming the field; a secret's value is never shown.
 *
 * @since 0.1.0
 */
export const decode = (input: Input | Record<string, unknown>): Effect.Effect<ClientConfig, ConfigError> => {
  const text: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(input)) if (value !== undefined) text[key] = asText(key, value)
  return load(ConfigProvider.fromUnknown(text), (field) => ({ name: field, value: text[field] }))
}
