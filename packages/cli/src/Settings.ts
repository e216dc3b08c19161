/**
 * The settings of `hitstream run`: their keys and names, and their validation.
 *
 * Every setting has one camelCase key (`maxConnections`), one flag (`--max-connections`) and one
 * environment variable (`HITSTREAM_MAX_CONNECTIONS`). Where the values come from, and in which
 * order, is `Sources`. A problem is a `SettingsError` whose message names the flag and its
 * variable, the value, and what is valid: `--client-id (or HITSTREAM_CLIENT_ID) is required`.
 *
 * @since 0.1.0
 */
import { Config } from "@hitstream/core"
import { Duration, Effect, Option, Redacted, Schema } from "effect"

export {
  booleanKeys,
  clientKeys,
  envName,
  flagName,
  integerKeys,
  keys,
  programKeys,
  secretKeys
} from "./SettingKeys.ts"
import { clientKeys, envName, flagName, keys, secretKeys } from "./SettingKeys.ts"

/**
 * How a setting is named to a person: its flag and its variable, or for a secret its variable
 * and its file flag.
 *
 * @since 0.1.0
 */
export const named = (key: string): string =>
  secretKeys.includes(key)
    ? `${envName(key)} (or --${flagName(key)}-file)`
    : `--${flagName(key)} (or ${envName(key)})`

/**
 * The reason of a file-system failure in the platform's own words (`ENOENT: no such file or
 * directory, stat '/etc/x'`).
 *
 * @since 0.1.0
 */
export const reasonOf = (e: { readonly message: string; readonly cause?: unknown }): string =>
  e.cause instanceof Error ? e.cause.message : e.message

/**
 * A settings problem: says which setting, where it came from, and what is valid.
 *
 * @since 0.1.0
 */
export class SettingsError extends Schema.TaggedError<SettingsError>()("SettingsError", {
  field: Schema.String,
  message: Schema.String
}) {}

/**
 * The program's own settings, validated.
 *
 * @since 0.1.0
 */
export interface ProgramSettings {
  readonly sink:
    | { readonly _tag: "Stdout" }
    | { readonly _tag: "File"; readonly path: string }
    | { readonly _tag: "Nats"; readonly url: string }
  /** `--fleet nats://…`: slot leases and the journal in NATS (see `Fleet.ts`). */
  readonly fleet: string | undefined
  /** `--nats-creds-file` (the creds themselves are read by `Fleet.ts`). */
  readonly natsCredsFile: string | undefined
  readonly format: "raw" | "json"
  readonly stateDir: string | undefined
  readonly metricsPort: number | undefined
  readonly metricsHost: string
  /** `--dashboard-port`: serve the live dashboard (see `Dashboard.ts`). */
  readonly dashboardPort: number | undefined
  readonly dashboardHost: string
  readonly logLevel: "debug" | "info" | "warn" | "error"
  readonly logFormat: "pretty" | "json"
  readonly rotateSize: number | undefined
  readonly rotateInterval: number | undefined
  readonly rotateGzip: boolean
  /** Mode of created files; directories get it with search (x) added where read (r) is. */
  readonly fileMode: number
  readonly maxRecordBytes: number | undefined
  /** `--ca-file`: PEM CAs trusted on top of Node's (read and checked by the client's `Network`). */
  readonly caFile: string | undefined
  /** `--proxy`: for every request instead of HTTPS_PROXY/HTTP_PROXY; may hold credentials. */
  readonly proxy: Redacted.Redacted<string> | undefined
}

const invalid = (key: string, value: string, what: string) =>
  new SettingsError({ field: key, message: `${named(key)} is ${JSON.stringify(value)}: ${what}` })

const choice = <A extends string>(
  key: string,
  value: string | undefined,
  choices: ReadonlyArray<A>,
  fallback: A
): Effect.Effect<A, SettingsError> => {
  if (value === undefined) return Effect.succeed(fallback)
  return (choices as ReadonlyArray<string>).includes(value)
    ? Effect.succeed(value as A)
    : Effect.fail(invalid(key, value, `it must be one of ${choices.join(", ")}`))
}

const sizePattern = /^(\d+(?:\.\d+)?)\s*(b|kb|k|kib|mb|m|mib|gb|g|gib)?$/i
const sizeUnits: Record<string, number> = {
  b: 1,
  k: 1024,
  kb: 1024,
  kib: 1024,
  m: 1024 ** 2,
  mb: 1024 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1024 ** 3,
  gib: 1024 ** 3
}

/**
 * `100MB` -> bytes (units of 1024), or `undefined` when it is not a size.
 *
 * @since 0.1.0
 */
export const parseSize = (text: string): number | undefined => {
  const m = sizePattern.exec(text.trim())
  return m === null ? undefined : Math.floor(Number(m[1]) * sizeUnits[(m[2] ?? "b").toLowerCase()])
}

const bool = (key: string, value: string | undefined): Effect.Effect<boolean, SettingsError> => {
  if (value === undefined) return Effect.succeed(false)
  const v = value.trim().toLowerCase()
  if (v === "true" || v === "1" || v === "yes") return Effect.succeed(true)
  if (v === "false" || v === "0" || v === "no") return Effect.succeed(false)
  return Effect.fail(invalid(key, value, "it must be true or false"))
}

/**
 * The program's settings, checked (pure: no file system).
 *
 * @since 0.1.0
 */
export const programSettings = (settings: Record<string, string>) =>
  Effect.gen(function* () {
    const sinkText = settings.sink ?? "stdout"
    const sink: ProgramSettings["sink"] =
      sinkText === "stdout"
        ? { _tag: "Stdout" }
        : sinkText.startsWith("file:") && sinkText.length > 5
          ? { _tag: "File", path: sinkText.slice(5) }
          : /^(nats|tls):\/\//.test(sinkText)
            ? { _tag: "Nats", url: sinkText }
            : yield* invalid("sink", sinkText, "it must be stdout, file:PATH or nats://HOST:PORT/STREAM")
    let metricsPort: number | undefined
    if (settings.metricsPort !== undefined) {
      metricsPort = Number(settings.metricsPort)
      if (!Number.isInteger(metricsPort) || metricsPort < 1 || metricsPort > 65535) {
        return yield* invalid("metricsPort", settings.metricsPort, "it must be a port from 1 to 65535")
      }
    }
    const metricsHost = settings.metricsHost ?? "127.0.0.1"
    if (!/^[A-Za-z0-9.:[\]-]+$/.test(metricsHost)) {
      return yield* invalid(
        "metricsHost",
        metricsHost,
        "it must be a host name or an IP address, e.g. 127.0.0.1 or ::1"
      )
    }
    let dashboardPort: number | undefined
    if (settings.dashboardPort !== undefined) {
      dashboardPort = Number(settings.dashboardPort)
      if (!Number.isInteger(dashboardPort) || dashboardPort < 1 || dashboardPort > 65535) {
        return yield* invalid("dashboardPort", settings.dashboardPort, "it must be a port from 1 to 65535")
      }
    }
    const dashboardHost = settings.dashboardHost ?? "127.0.0.1"
    if (!/^[A-Za-z0-9.:[\]-]+$/.test(dashboardHost)) {
      return yield* invalid(
        "dashboardHost",
        dashboardHost,
        "it must be a host name or an IP address, e.g. 127.0.0.1 or ::1"
      )
    }
    let rotateSize: number | undefined
    if (settings.rotateSize !== undefined) {
      rotateSize = parseSize(settings.rotateSize)
      if (rotateSize === undefined || rotateSize < 1)
        return yield* invalid("rotateSize", settings.rotateSize, "write it like 100MB or 1GB")
    }
    let rotateInterval: number | undefined
    if (settings.rotateInterval !== undefined) {
      const d = Config.parseDuration(settings.rotateInterval)
      if (Option.isNone(d) || Duration.toMillis(d.value) <= 0)
        return yield* invalid("rotateInterval", settings.rotateInterval, "write it like 1h or 15m")
      rotateInterval = Duration.toMillis(d.value)
    }
    let fileMode = 0o600
    if (settings.fileMode !== undefined) {
      const text = settings.fileMode.trim()
      fileMode = /^0?[0-7]{3}$/.test(text) ? Number.parseInt(text, 8) : Number.NaN
      if (Number.isNaN(fileMode) || (fileMode & 0o600) !== 0o600)
        return yield* invalid(
          "fileMode",
          settings.fileMode,
          "it must be an octal mode that keeps the owner's read and write, such as 0600 or 0640"
        )
    }
    let maxRecordBytes: number | undefined
    if (settings.maxRecordSize !== undefined) {
      maxRecordBytes = parseSize(settings.maxRecordSize)
      if (maxRecordBytes === undefined || maxRecordBytes < 1024 || maxRecordBytes > 1024 ** 3)
        return yield* invalid(
          "maxRecordSize",
          settings.maxRecordSize,
          "write it like 1MB or 512KB, from 1KB to 1GB"
        )
    }
    let proxy: Redacted.Redacted<string> | undefined
    if (settings.proxy !== undefined && settings.proxy !== "") {
      const url = URL.parse(settings.proxy)
      if (url === null || (url.protocol !== "http:" && url.protocol !== "https:") || url.hostname === "")
        return yield* new SettingsError({
          field: "proxy",
          message: `${named("proxy")} is not a proxy URL (its value is not shown: it may hold a password); it must look like http://proxy.example.com:3128, with any credentials as user:password@ before the host`
        })
      proxy = Redacted.make(settings.proxy, { label: "proxy" })
    }
    return {
      sink,
      fleet: settings.fleet,
      natsCredsFile: settings.natsCredsFile,
      format: yield* choice("format", settings.format, ["raw", "json"], "raw"),
      stateDir: settings.stateDir,
      metricsPort,
      metricsHost,
      dashboardPort,
      dashboardHost,
      logLevel: yield* choice("logLevel", settings.logLevel, ["debug", "info", "warn", "error"], "info"),
      logFormat: yield* choice("logFormat", settings.logFormat, ["pretty", "json"], "pretty"),
      rotateSize,
      rotateInterval,
      rotateGzip: yield* bool("rotateGzip", settings.rotateGzip),
      fileMode,
      maxRecordBytes,
      caFile: settings.caFile === "" ? undefined : settings.caFile,
      proxy
    } satisfies ProgramSettings
  })

/**
 * The directory mode that goes with a file mode: search (x) wherever read (r) is allowed.
 *
 * @since 0.1.0
 */
export const directoryMode = (fileMode: number): number => fileMode | ((fileMode & 0o444) >> 2)

/**
 * The client's part of the settings, validated by the client's own schema. Its messages name
 * the setting as the client knows it; here they name the flag and the variable.
 *
 * @since 0.1.0
 */
export const clientSettings = (settings: Record<string, string>, program: ProgramSettings) => {
  const client: Record<string, string | number> = {}
  for (const key of [...clientKeys, ...secretKeys])
    if (settings[key] !== undefined) client[key] = settings[key]
  if (program.maxRecordBytes !== undefined) client.maxRecordBytes = program.maxRecordBytes
  return Config.decode(client).pipe(
    Effect.mapError((e) => {
      const key = e.field === "maxRecordBytes" ? "maxRecordSize" : e.field
      if (![...keys, ...secretKeys].includes(key))
        return new SettingsError({ field: e.field, message: e.message })
      // `clientId is required: ...` -> `--client-id (or HITSTREAM_CLIENT_ID) is required: ...`
      const message = e.message.startsWith(e.field)
        ? named(key) + e.message.slice(e.field.length)
        : `${named(key)}: ${e.message}`
      return new SettingsError({ field: key, message })
    })
  )
}
