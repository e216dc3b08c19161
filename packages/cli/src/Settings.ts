/**
 * Where `hitstream run` takes its settings from, and in which order: flags, then environment
 * variables (`HITSTREAM_*`), then the `--config` file (JSON or YAML), then defaults.
 *
 * Every setting has one camelCase key (`maxConnections`), one flag (`--max-connections`) and one
 * environment variable (`HITSTREAM_MAX_CONNECTIONS`). Secrets have no flag: flags show in `ps`.
 *
 * @since 0.1.0
 */
import { Config } from "@hitstream/core"
import { Duration, Effect, Option, Schema } from "effect"
import { readFile } from "node:fs/promises"
import { homedir } from "node:os"
import { join } from "node:path"
import { parse as parseYaml } from "yaml"

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
  "logLevel",
  "logFormat",
  "rotateSize",
  "rotateInterval",
  "rotateGzip",
  "clientSecretFile",
  "accessTokenFile"
] as const

/** Keys that only the environment or a file may carry. */
const secretKeys = new Set(["clientSecret", "accessToken"])

/**
 * Every key a flag, variable or file may set.
 *
 * @since 0.1.0
 */
export const keys: ReadonlyArray<string> = [...Object.keys(Config.ClientConfigInput.fields), ...programKeys]

/**
 * `maxConnections` -> `max-connections`
 *
 * @since 0.1.0
 */
export const flagName = (key: string) => key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)

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
 * Reads the `--config` file: JSON, or YAML by extension.
 *
 * @since 0.1.0
 */
export const readConfigFile = (path: string) =>
  Effect.gen(function* () {
    const text = yield* Effect.tryPromise({
      try: () => readFile(path, "utf8"),
      catch: (e) =>
        new SettingsError({
          field: "config",
          message: `cannot read the config file ${path}: ${(e as Error).message}`
        })
    })
    const value = yield* Effect.try({
      try: () => (/\.ya?ml$/i.test(path) ? parseYaml(text) : JSON.parse(text)) as unknown,
      catch: (e) =>
        new SettingsError({
          field: "config",
          message: `the config file ${path} is not valid ${/\.ya?ml$/i.test(path) ? "YAML" : "JSON"}: ${(e as Error).message}`
        })
    })
    if (value === null || typeof value !== "object" || Array.isArray(value)) {
      return yield* new SettingsError({
        field: "config",
        message: `the config file ${path} must hold an object of settings`
      })
    }
    const record = value as Record<string, unknown>
    for (const key of Object.keys(record)) {
      if (!keys.includes(key)) {
        return yield* new SettingsError({
          field: key,
          message: `the config file ${path} has an unknown setting ${JSON.stringify(key)}; known settings: ${keys.join(", ")}`
        })
      }
    }
    return record
  })

const toText = (value: unknown): string | undefined =>
  value === undefined || value === null
    ? undefined
    : Array.isArray(value)
      ? value.map(String).join(",")
      : String(value)

/**
 * Merges the sources: flags over environment over file. Values become strings (lists joined with
 * commas), as the environment would carry them, and the client's schema reads them alike.
 *
 * @since 0.1.0
 */
export const merge = (
  flags: Record<string, string | undefined>,
  env: Record<string, string | undefined>,
  file: Record<string, unknown>
): Record<string, string> => {
  const out: Record<string, string> = {}
  for (const key of keys) {
    const fromFlag = secretKeys.has(key) ? undefined : flags[key]
    const fromEnv = env[Config.envName(key)]
    const value = fromFlag ?? (fromEnv === "" ? undefined : fromEnv) ?? toText(file[key])
    if (value !== undefined) out[key] = value
  }
  return out
}

/**
 * Replaces `clientSecretFile` / `accessTokenFile` by the secrets they hold.
 *
 * @since 0.1.0
 */
export const readSecretFiles = (settings: Record<string, string>) =>
  Effect.gen(function* () {
    const out = { ...settings }
    for (const [fileKey, key] of [
      ["clientSecretFile", "clientSecret"],
      ["accessTokenFile", "accessToken"]
    ] as const) {
      const path = out[fileKey]
      if (path === undefined) continue
      const text = yield* Effect.tryPromise({
        try: () => readFile(path, "utf8"),
        catch: (e) =>
          new SettingsError({
            field: fileKey,
            message: `cannot read --${flagName(fileKey)} ${path}: ${(e as Error).message}`
          })
      })
      out[key] = text.trim()
      delete out[fileKey]
    }
    return out
  })

/**
 * The program's own settings, validated.
 *
 * @since 0.1.0
 */
export interface ProgramSettings {
  readonly sink: { readonly _tag: "Stdout" } | { readonly _tag: "File"; readonly path: string }
  readonly format: "raw" | "json"
  readonly stateDir: string
  readonly metricsPort: number | undefined
  readonly logLevel: "debug" | "info" | "warn" | "error"
  readonly logFormat: "pretty" | "json"
  readonly rotateSize: number | undefined
  readonly rotateInterval: number | undefined
  readonly rotateGzip: boolean
}

const choice = <A extends string>(
  field: string,
  value: string | undefined,
  choices: ReadonlyArray<A>,
  fallback: A
) => {
  if (value === undefined) return Effect.succeed(fallback)
  return (choices as ReadonlyArray<string>).includes(value)
    ? Effect.succeed(value as A)
    : Effect.fail(
        new SettingsError({
          field,
          message: `--${flagName(field)} is ${JSON.stringify(value)}; it must be one of ${choices.join(", ")}`
        })
      )
}

const defaultStateDir = () =>
  join(process.env.XDG_STATE_HOME ?? join(homedir(), ".local", "state"), "hitstream")

const sizePattern = /^(\d+(?:\.\d+)?)\s*(b|kb|k|mb|m|gb|g)?$/i
const sizeUnits: Record<string, number> = {
  b: 1,
  k: 1024,
  kb: 1024,
  m: 1024 ** 2,
  mb: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1024 ** 3
}

/**
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
          : yield* new SettingsError({
              field: "sink",
              message: `--sink is ${JSON.stringify(sinkText)}; it must be stdout or file:PATH`
            })
    let metricsPort: number | undefined
    if (settings.metricsPort !== undefined) {
      metricsPort = Number(settings.metricsPort)
      if (!Number.isInteger(metricsPort) || metricsPort < 1 || metricsPort > 65535) {
        return yield* new SettingsError({
          field: "metricsPort",
          message: `--metrics-port is ${JSON.stringify(settings.metricsPort)}; it must be a port from 1 to 65535`
        })
      }
    }
    let rotateSize: number | undefined
    if (settings.rotateSize !== undefined) {
      const m = sizePattern.exec(settings.rotateSize.trim())
      if (m === null) {
        return yield* new SettingsError({
          field: "rotateSize",
          message: `--rotate-size is ${JSON.stringify(settings.rotateSize)}; write it like 100MB or 1GB`
        })
      }
      rotateSize = Number(m[1]) * sizeUnits[(m[2] ?? "b").toLowerCase()]
    }
    let rotateInterval: number | undefined
    if (settings.rotateInterval !== undefined) {
      const d = Config.parseDuration(settings.rotateInterval)
      if (Option.isNone(d)) {
        return yield* new SettingsError({
          field: "rotateInterval",
          message: `--rotate-interval is ${JSON.stringify(settings.rotateInterval)}; write it like 1h or 15m`
        })
      }
      rotateInterval = Duration.toMillis(d.value)
    }
    return {
      sink,
      format: yield* choice("format", settings.format, ["raw", "json"], "raw"),
      stateDir: settings.stateDir ?? defaultStateDir(),
      metricsPort,
      logLevel: yield* choice("logLevel", settings.logLevel, ["debug", "info", "warn", "error"], "info"),
      logFormat: yield* choice("logFormat", settings.logFormat, ["pretty", "json"], "pretty"),
      rotateSize,
      rotateInterval,
      rotateGzip: settings.rotateGzip === "true" || settings.rotateGzip === "1"
    } satisfies ProgramSettings
  })

/**
 * The client's part of the settings, validated by the client's own schema.
 *
 * @since 0.1.0
 */
export const clientSettings = (settings: Record<string, string>) => {
  const client: Record<string, string> = {}
  for (const key of Object.keys(Config.ClientConfigInput.fields))
    if (settings[key] !== undefined) client[key] = settings[key]
  return Config.decode(client)
}
