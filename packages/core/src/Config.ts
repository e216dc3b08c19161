/**
 * The client's configuration: one Schema, with defaults, loadable from `HITSTREAM_*`
 * environment variables through Effect's `Config`, from a file, or from code.
 *
 * Every error names the field, the bad value and the valid range, because the person reading
 * it is an operator who typed that value into a unit file or a shell.
 *
 * @since 0.1.0
 */
import {
  Config as EffectConfig,
  ConfigProvider,
  Duration,
  Effect,
  Option,
  Schema,
  SchemaIssue,
  SchemaTransformation
} from "effect"
import * as Dedup from "./Dedup.ts"
import * as Framing from "./Framing.ts"
import * as ReconnectPolicy from "./ReconnectPolicy.ts"

const units: Record<string, number> = {
  ms: 1,
  millis: 1,
  millisecond: 1,
  milliseconds: 1,
  s: 1000,
  sec: 1000,
  second: 1000,
  seconds: 1000,
  m: 60_000,
  min: 60_000,
  minute: 60_000,
  minutes: 60_000,
  h: 3_600_000,
  hour: 3_600_000,
  hours: 3_600_000
}

const durationPattern = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i

/**
 * Parses `60s`, `2m`, `1500ms`, `1h`, `90 seconds`; a bare number is seconds.
 *
 * @since 0.1.0
 */
export const parseDuration = (input: string): Option.Option<Duration.Duration> => {
  const match = durationPattern.exec(input)
  if (match === null) return Option.none()
  const unit = match[2].toLowerCase()
  const factor = unit === "" ? 1000 : units[unit]
  if (factor === undefined) return Option.none()
  return Option.some(Duration.millis(Number(match[1]) * factor))
}

const formatDuration = (duration: Duration.Duration): string => {
  const millis = Duration.toMillis(duration)
  return millis % 60_000 === 0 && millis > 0
    ? `${millis / 60_000}m`
    : millis % 1000 === 0
      ? `${millis / 1000}s`
      : `${millis}ms`
}

/**
 * A duration written as `60s`, `2m`, `1500ms`, `1h` (a bare number is seconds).
 *
 * @since 0.1.0
 */
export const DurationString = Schema.String.pipe(
  Schema.decodeTo(
    Schema.Duration,
    SchemaTransformation.transformEffect({
      decode: (input: string) =>
        Option.match(parseDuration(input), {
          onNone: () =>
            Effect.fail(
              new SchemaIssue.InvalidValue(
                {
                  message: `${JSON.stringify(input)} is not a duration; write it like 60s, 2m, 1500ms or 1h`
                },
                input
              )
            ),
          onSome: Effect.succeed
        }),
      encode: (duration: Duration.Duration) => Effect.succeed(formatDuration(duration))
    })
  )
).annotate({ identifier: "DurationString" })

/**
 * A comma-separated list (`a,b, c`), as environment variables and flags carry lists.
 *
 * @since 0.1.0
 */
export const CommaList = Schema.String.pipe(
  Schema.decodeTo(
    Schema.Array(Schema.String),
    SchemaTransformation.transform<ReadonlyArray<string>, string>({
      decode: (input) =>
        input
          .split(",")
          .map((s) => s.trim())
          .filter((s) => s.length > 0),
      encode: (list) => list.join(",")
    })
  )
)

const intBetween = (field: string, min: number, max: number) =>
  Schema.Number.check(
    Schema.makeFilter(
      (n: number) =>
        (Number.isInteger(n) && n >= min && n <= max) ||
        `${field} is ${n}; it must be an integer from ${min} to ${max}`
    )
  )

const urlString = (field: string) =>
  Schema.String.check(
    Schema.makeFilter((s: string) => {
      try {
        const url = new URL(s)
        return (
          url.protocol === "https:" ||
          url.protocol === "http:" ||
          `${field} is ${JSON.stringify(s)}; it must be an http(s) URL`
        )
      } catch {
        return `${field} is ${JSON.stringify(s)}; it must be an absolute URL such as https://livestream.adobe.net/api/1/stream/my-endpoint`
      }
    })
  )

/**
 * Where a (re)connection starts. The newer spellings `earliest` and `latest` (the vendor's
 * current troubleshooting page) are read as `smallest` and `largest`, the API's values.
 *
 * @since 0.1.0
 */
export const Reset = Schema.Literals(["smallest", "largest", "earliest", "latest"]).pipe(
  Schema.decodeTo(
    Schema.Literals(["smallest", "largest"]),
    SchemaTransformation.transform({
      decode: (input) => (input === "earliest" ? "smallest" : input === "latest" ? "largest" : input),
      encode: (value) => value
    })
  )
)

/**
 * @since 0.1.0
 */
export const defaultTokenUrl = "https://ims-na1.adobelogin.com/ims/token/v3"

/**
 * @since 0.1.0
 */
export const defaultScopes = [
  "openid",
  "session",
  "AdobeID",
  "read_organizations",
  "additional_info.projectedProductContext"
] as const

const Secret = Schema.Redacted(Schema.String)

/**
 * The configuration as written (environment, file, flags): every field a string or a number,
 * and optional where a default exists.
 *
 * @since 0.1.0
 */
export const ClientConfigInput = Schema.Struct({
  url: urlString("url"),
  clientId: Schema.NonEmptyString.annotate({
    message: "clientId must be the IMS client id (also sent as x-api-key)"
  }),
  clientSecret: Schema.optionalKey(Secret),
  accessToken: Schema.optionalKey(Secret),
  tokenUrl: Schema.optionalKey(urlString("tokenUrl")),
  scopes: Schema.optionalKey(CommaList),
  maxConnections: Schema.optionalKey(intBetween("maxConnections", 1, 8)),
  connections: Schema.optionalKey(intBetween("connections", 1, 8)),
  reset: Schema.optionalKey(Reset),
  smoothing: Schema.optionalKey(Schema.Boolean),
  smoothingBucketSize: Schema.optionalKey(intBetween("smoothingBucketSize", 1, 7200)),
  minReconnectDelay: Schema.optionalKey(DurationString),
  maxReconnectDelay: Schema.optionalKey(DurationString),
  healthyAfter: Schema.optionalKey(DurationString),
  backfillWindow: Schema.optionalKey(DurationString),
  stallTimeout: Schema.optionalKey(DurationString),
  connectTimeout: Schema.optionalKey(DurationString),
  trustedRedirectHosts: Schema.optionalKey(CommaList),
  dedupCapacity: Schema.optionalKey(intBetween("dedupCapacity", 1, 100_000_000)),
  bufferSize: Schema.optionalKey(intBetween("bufferSize", 1, 1_000_000)),
  maxRecordBytes: Schema.optionalKey(intBetween("maxRecordBytes", 1024, 1024 ** 3))
})

/**
 * @since 0.1.0
 */
export type ClientConfigInput = typeof ClientConfigInput.Type

/**
 * The validated configuration, defaults filled in.
 *
 * @since 0.1.0
 */
export interface ClientConfig {
  readonly url: string
  readonly clientId: string
  /** How the client authenticates: IMS client credentials, or a token given as is. */
  readonly auth:
    | {
        readonly _tag: "ClientCredentials"
        readonly clientSecret: import("effect").Redacted.Redacted<string>
        readonly tokenUrl: string
        readonly scopes: ReadonlyArray<string>
      }
    | { readonly _tag: "StaticToken"; readonly accessToken: import("effect").Redacted.Redacted<string> }
  readonly maxConnections: number
  readonly connections: number
  readonly reset: "smallest" | "largest" | undefined
  readonly smoothing: boolean
  readonly smoothingBucketSize: number | undefined
  readonly policy: ReconnectPolicy.Options
  readonly stallTimeout: Duration.Duration | undefined
  /** The longest an attempt may take to get the stream's answer, token fetch included. */
  readonly connectTimeout: Duration.Duration
  readonly trustedRedirectHosts: ReadonlyArray<string>
  readonly dedupCapacity: number
  /** Hits held between the socket and a slower consumer before reading pauses. */
  readonly bufferSize: number
  /** A record longer than this many bytes is skipped as it streams in (counted as `TooLong`). */
  readonly maxRecordBytes: number
}

/**
 * The configuration cannot be used: says which field, the value, and what is valid.
 *
 * @since 0.1.0
 */
export class ConfigError extends Schema.TaggedError<ConfigError>()("ConfigError", {
  field: Schema.String,
  message: Schema.String
}) {}

/**
 * The redirect targets trusted with the token by default: the configured URL's host and Adobe's
 * Live Stream hosts.
 *
 * @since 0.1.0
 */
export const defaultTrustedRedirectHosts = (url: string): Array<string> => [
  new URL(url).hostname,
  "*.adobe.net"
]

/**
 * Fills defaults and checks what one field alone cannot: `connections` at most
 * `maxConnections`, exactly one way to authenticate, `maxReconnectDelay` not below the minimum.
 *
 * @since 0.1.0
 */
export const fromInput = Effect.fnUntraced(function* (input: ClientConfigInput) {
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
  const policy = yield* ReconnectPolicy.makeOptions({
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
    bufferSize: input.bufferSize ?? 4096,
    maxRecordBytes: input.maxRecordBytes ?? Framing.defaultMaxRecordBytes
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

const constantCase = (key: string) => key.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()

/**
 * The environment variable that holds a field: `maxConnections` is `HITSTREAM_MAX_CONNECTIONS`.
 *
 * @since 0.1.0
 */
export const envName = (field: string): string => `HITSTREAM_${constantCase(field)}`

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
 * object with the fields of `ClientConfigInput`, values as strings, numbers or booleans.
 *
 * @since 0.1.0
 */
export const decode = (input: Record<string, unknown>) =>
  load(ConfigProvider.fromUnknown(input), (field) => ({ name: field, value: input[field] }))
