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
  Redacted,
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
 * Parses `60s`, `2m`, `1500ms`, `1h`, `90 seconds`, and every string `Duration.Input` takes
 * (`"250 millis"`, `"2 days"`); a bare number is seconds, as in environment variables.
 *
 * @since 0.1.0
 */
export const parseDuration = (input: string): Option.Option<Duration.Duration> => {
  const match = durationPattern.exec(input)
  if (match === null) return Duration.fromInput(input.trim() as Duration.Input)
  const unit = match[2].toLowerCase()
  const factor = unit === "" ? 1000 : units[unit]
  if (factor === undefined) return Duration.fromInput(`${match[1]} ${unit}` as Duration.Input)
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
                  message: "it is not a duration; write it like 60s, 2m, 1500ms or 1h"
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

const intBetween = (_field: string, min: number, max: number) =>
  Schema.Number.check(
    Schema.makeFilter(
      (n: number) =>
        (Number.isInteger(n) && n >= min && n <= max) || `it must be an integer from ${min} to ${max}`
    )
  )

const example: Record<string, string> = {
  url: "https://livestream.adobe.net/api/1/stream/my-endpoint",
  tokenUrl: "https://ims-na1.adobelogin.com/ims/token/v3"
}

const urlString = (field: string) =>
  Schema.String.check(
    Schema.makeFilter((s: string) => {
      try {
        const url = new URL(s)
        return (
          url.protocol === "https:" ||
          url.protocol === "http:" ||
          `it must be an http(s) URL, such as ${example[field] ?? example.url}`
        )
      } catch {
        return `it must be an absolute URL, such as ${example[field] ?? example.url}`
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

/**
 * Why a value cannot travel in an HTTP header, or `undefined` when it can: header values hold
 * visible ASCII only here (ids and bearer tokens never need more), and a control character,
 * typically a newline pasted from a file, makes Node throw inside the request. Names the
 * character and its position, never the value, so it is safe for secrets.
 *
 * @since 0.1.0
 */
export const headerProblem = (value: string): string | undefined => {
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i)
    if (code < 0x21 || code > 0x7e) {
      const what =
        code === 0x0a
          ? "a line feed (\\n)"
          : code === 0x0d
            ? "a carriage return (\\r)"
            : code === 0x09
              ? "a tab"
              : code === 0x20
                ? "a space"
                : code < 0x20 || code === 0x7f
                  ? `a control character (U+${code.toString(16).toUpperCase().padStart(4, "0")})`
                  : `a non-ASCII character (U+${code.toString(16).toUpperCase().padStart(4, "0")})`
      return `it contains ${what} at position ${i + 1}, and is sent in an HTTP header, which cannot carry it; check for a trailing newline in the variable or file it came from`
    }
  }
  return undefined
}

const headerSafe = Schema.makeFilter((s: string) => headerProblem(s) ?? true)

const Secret = Schema.Redacted(Schema.String)

// A secret sent in a header (the bearer token): checked as a whole, as a check on the inner
// string would lose its message inside the Redacted.
const HeaderSecret = Secret.check(
  Schema.makeFilter((r: Redacted.Redacted<string>) => headerProblem(Redacted.value(r)) ?? true)
)

/**
 * The configuration's fields, each optional where a default exists. Its `Encoded` side is the
 * text environment variables, files and flags carry (`"60s"`, `"a,b"`, `"4"`); its `Type` side
 * the values: secrets `Redacted`, durations `Duration`, lists arrays, counts integers. In code,
 * write an `Input` (either side, and any `Duration.Input`) and pass it to `decode`.
 *
 * @since 0.1.0
 */
export const ClientConfigInput = Schema.Struct({
  url: urlString("url"),
  clientId: Schema.NonEmptyString.annotate({
    message: "clientId must be the IMS client id (also sent as x-api-key)"
  }).check(headerSafe),
  clientSecret: Schema.optionalKey(Secret),
  accessToken: Schema.optionalKey(HeaderSecret),
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
  maxRecordBytes: Schema.optionalKey(intBetween("maxRecordBytes", 1024, 1024 ** 3)),
  tracePropagation: Schema.optionalKey(Schema.Boolean)
})

/**
 * @since 0.1.0
 */
export type ClientConfigInput = typeof ClientConfigInput.Type

/**
 * A configuration as written in code, for `decode` and the client's `layer(input)`:
 *
 * - durations (`minReconnectDelay`, `connectTimeout`, ...): any `Duration.Input` (`"90 seconds"`,
 *   a number of milliseconds, a `Duration`, `{ minutes: 2 }`) or the text of a variable (`"60s"`,
 *   `"2m"`; a bare number in text is seconds);
 * - secrets (`clientSecret`, `accessToken`): a string or a `Redacted`, redacted from then on;
 * - lists (`scopes`, `trustedRedirectHosts`): an array, or a comma-separated string;
 * - `reset`: `"smallest"`, `"largest"`, or their newer spellings `"earliest"`, `"latest"`;
 * - the rest: numbers and booleans, or their text.
 *
 * @since 0.1.0
 */
export type Input = {
  readonly [K in keyof ClientConfigInput]: ClientConfigInput[K] extends infer A
    ? A extends Redacted.Redacted<string>
      ? A | string
      : A extends Duration.Duration
        ? Duration.Input | string
        : A | (typeof ClientConfigInput.Encoded)[K & keyof typeof ClientConfigInput.Encoded]
    : never
}

const durationFields = new Set([
  "minReconnectDelay",
  "maxReconnectDelay",
  "healthyAfter",
  "backfillWindow",
  "stallTimeout",
  "connectTimeout"
])

const ClientCredentials = Schema.TaggedStruct("ClientCredentials", {
  clientSecret: Secret,
  tokenUrl: Schema.String,
  scopes: Schema.Array(Schema.String)
})

const StaticToken = Schema.TaggedStruct("StaticToken", { accessToken: Secret })

const PolicyOptions = Schema.declare(
  (u: unknown): u is ReconnectPolicy.Options =>
    typeof u === "object" && u !== null && "minReconnectDelay" in u && "maxReconnectDelay" in u
)

/**
 * The validated configuration, defaults filled in: what `decode` and `fromEnv` produce, and the
 * only shape the client's services read.
 *
 * @since 0.1.0
 */
export const ClientConfig = Schema.Struct({
  url: Schema.String,
  clientId: Schema.String,
  /** How the client authenticates: IMS client credentials, or a token given as is. */
  auth: Schema.Union([ClientCredentials, StaticToken]),
  maxConnections: Schema.Int,
  connections: Schema.Int,
  reset: Schema.UndefinedOr(Schema.Literals(["smallest", "largest"])),
  smoothing: Schema.Boolean,
  smoothingBucketSize: Schema.UndefinedOr(Schema.Int),
  policy: PolicyOptions,
  stallTimeout: Schema.UndefinedOr(Schema.Duration),
  /** The longest an attempt may take to get the stream's answer, token fetch included. */
  connectTimeout: Schema.Duration,
  trustedRedirectHosts: Schema.Array(Schema.String),
  dedupCapacity: Schema.Int,
  /** Hits held between the socket and a slower consumer before reading pauses. */
  bufferSize: Schema.Int,
  /** A record longer than this many bytes is skipped as it streams in (counted as `TooLong`). */
  maxRecordBytes: Schema.Int,
  /**
   * Whether requests carry trace headers (`traceparent`, `b3`). Off by default: they would tell
   * Adobe and IMS about the caller's tracing.
   */
  tracePropagation: Schema.Boolean
})

/**
 * @since 0.1.0
 */
export type ClientConfig = typeof ClientConfig.Type

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

const required: Record<string, string> = {
  url: `the stream URL, such as ${example.url}`,
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
