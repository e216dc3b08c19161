/**
 * The client's configuration as schemas: `ClientConfigInput`, the fields as environment
 * variables, files, flags and code write them, and `ClientConfig`, the validated shape the
 * client's services read. `Config` loads the one into the other.
 *
 * Every check's message names the valid range, because the person reading it is an operator who
 * typed that value into a unit file or a shell.
 *
 * @since 0.1.0
 */
import { type Duration, Redacted, Schema, SchemaTransformation } from "effect"
import { DurationString } from "./DurationString.ts"
import * as HeaderValue from "./HeaderValue.ts"
import type * as ReconnectPolicyOptions from "./ReconnectPolicyOptions.ts"

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

/**
 * @since 0.1.0
 */
export const defaultTokenUrl = "https://ims-na1.adobelogin.com/ims/token/v3"

/**
 * A stream URL to show in messages, as Adobe provisions them.
 *
 * @since 0.1.0
 */
export const exampleUrl = "https://livestream.adobe.net/api/1/stream/my-endpoint"

const example: Record<string, string> = {
  url: exampleUrl,
  tokenUrl: defaultTokenUrl
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
export const defaultScopes = [
  "openid",
  "session",
  "AdobeID",
  "read_organizations",
  "additional_info.projectedProductContext"
] as const

const Secret = Schema.Redacted(Schema.String)

// The bearer token, sent in a header.
const HeaderSecret = Secret.check(HeaderValue.isRedactedHeaderValue)

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
  }).check(HeaderValue.isHeaderValue),
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

const ClientCredentials = Schema.TaggedStruct("ClientCredentials", {
  clientSecret: Secret,
  tokenUrl: Schema.String,
  scopes: Schema.Array(Schema.String)
})

const StaticToken = Schema.TaggedStruct("StaticToken", { accessToken: Secret })

const PolicyOptions = Schema.declare(
  (u: unknown): u is ReconnectPolicyOptions.Options =>
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
 * The redirect targets trusted with the token by default: the configured URL's host and Adobe's
 * Live Stream hosts.
 *
 * @since 0.1.0
 */
export const defaultTrustedRedirectHosts = (url: string): Array<string> => [
  new URL(url).hostname,
  "*.adobe.net"
]

const constantCase = (key: string) => key.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()

/**
 * The environment variable that holds a field: `maxConnections` is `HITSTREAM_MAX_CONNECTIONS`.
 *
 * @since 0.1.0
 */
export const envName = (field: string): string => `HITSTREAM_${constantCase(field)}`
