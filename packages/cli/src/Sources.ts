/**
 * Where `hitstream run` takes its settings from, and in which order: flags, then environment
 * variables (`HITSTREAM_*`), then the `--config` file (JSON or YAML), then defaults.
 *
 * The three sources are Effect `ConfigProvider`s composed with `orElse` in that order, and every
 * key is read through one `Config`. Files are read through `FileSystem`, YAML with Effect's own
 * parser. Secrets have no flag (flags show in `ps`) and are refused in a config file (such files
 * get shared and checked in): they come from the environment or a secret file, whose mode is
 * checked as ssh checks a private key's.
 *
 * @since 0.1.0
 */
import { Config as EffectConfig, ConfigProvider, Effect, FileSystem, Option } from "effect"
import * as Yaml from "effect/encoding/Yaml"
import { envName, flagName, keys, named, reasonOf, SettingsError, secretKeys } from "./Settings.ts"

const isYaml = (path: string) => /\.ya?ml$/i.test(path)

/**
 * Checks a parsed config file: an object, known keys only, no secrets.
 *
 * @since 0.1.0
 */
export const checkConfigFile = (
  path: string,
  value: unknown
): Effect.Effect<Record<string, unknown>, SettingsError> => {
  if (value === null || value === undefined || typeof value !== "object" || Array.isArray(value)) {
    return Effect.fail(
      new SettingsError({
        field: "config",
        message: `the config file ${path} must hold an object of settings`
      })
    )
  }
  const record = value as Record<string, unknown>
  for (const key of Object.keys(record)) {
    if (secretKeys.includes(key)) {
      return Effect.fail(
        new SettingsError({
          field: key,
          message: `the config file ${path} holds ${key}: secrets are not read from config files (they get shared and checked in); set ${envName(key)} or pass --${flagName(key)}-file FILE (mode 0600), and remove ${key} from the file`
        })
      )
    }
    if (!keys.includes(key)) {
      return Effect.fail(
        new SettingsError({
          field: key,
          message: `the config file ${path} has an unknown setting ${JSON.stringify(key)}; known settings: ${keys.join(", ")}`
        })
      )
    }
  }
  return Effect.succeed(record)
}

/**
 * Reads the `--config` file: JSON, or YAML by extension.
 *
 * @since 0.1.0
 */
export const readConfigFile = (path: string) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const text = yield* fs.readFileString(path).pipe(
      Effect.mapError(
        (e) =>
          new SettingsError({
            field: "config",
            message: `--config (or HITSTREAM_CONFIG) ${path}: cannot read it: ${reasonOf(e)}`
          })
      )
    )
    const value = yield* Effect.try({
      try: () => (isYaml(path) ? Yaml.parse(text) : JSON.parse(text)) as unknown,
      catch: (e) =>
        new SettingsError({
          field: "config",
          message: `the config file ${path} is not valid ${isYaml(path) ? "YAML" : "JSON"}: ${(e as Error).message}`
        })
    })
    return yield* checkConfigFile(path, value)
  })

const toText = (value: unknown): string | undefined =>
  value === undefined || value === null
    ? undefined
    : Array.isArray(value)
      ? value.map(String).join(",")
      : String(value)

/**
 * The environment's `HITSTREAM_*` variables, by key; empty ones are unset.
 *
 * @since 0.1.0
 */
export const fromEnvironment = (env: Record<string, string | undefined>): Record<string, string> => {
  const out: Record<string, string> = {}
  for (const key of [...keys, ...secretKeys]) {
    const value = env[envName(key)]
    if (value !== undefined && value !== "") out[key] = value
  }
  return out
}

/**
 * The three sources as one provider: flags, else the environment, else the file. Values become
 * text (lists joined with commas), as the environment carries them, so one schema reads all.
 *
 * @since 0.1.0
 */
export const provider = (
  flags: Record<string, string | number | boolean | undefined>,
  env: Record<string, string | undefined>,
  file: Record<string, unknown>
): ConfigProvider.ConfigProvider => {
  const text = (record: Record<string, unknown>, allowSecrets: boolean) => {
    const out: Record<string, string> = {}
    for (const [key, value] of Object.entries(record)) {
      if (!allowSecrets && secretKeys.includes(key)) continue
      const t = toText(value)
      if (t !== undefined && t !== "") out[key] = t
    }
    return out
  }
  return ConfigProvider.orElse(
    ConfigProvider.fromUnknown(text(flags, false)),
    ConfigProvider.orElse(
      ConfigProvider.fromUnknown(fromEnvironment(env)),
      ConfigProvider.fromUnknown(text(file, false))
    )
  )
}

/**
 * Every setting, as text, read through one `Config` from a provider.
 *
 * @since 0.1.0
 */
export const settingsConfig: EffectConfig.Config<Record<string, string>> = EffectConfig.all(
  Object.fromEntries(
    [...keys, ...secretKeys].map((key) => [key, EffectConfig.option(EffectConfig.String(key))])
  )
).pipe(
  EffectConfig.map((options) => {
    const out: Record<string, string> = {}
    for (const [key, value] of Object.entries(options)) if (Option.isSome(value)) out[key] = value.value
    return out
  })
)

/**
 * Reads the settings from the composed provider.
 *
 * @since 0.1.0
 */
export const resolve = (source: ConfigProvider.ConfigProvider) =>
  settingsConfig
    .parse(source)
    .pipe(
      Effect.mapError(
        (e) => new SettingsError({ field: "config", message: `cannot read the settings: ${e.message}` })
      )
    )

/**
 * Merges the sources (flags over environment over file) into one record of text values.
 *
 * @since 0.1.0
 */
export const merge = (
  flags: Record<string, string | number | boolean | undefined>,
  env: Record<string, string | undefined>,
  file: Record<string, unknown>
) => resolve(provider(flags, env, file))

/**
 * A warning about a secret file: readable by others, as ssh warns of a private key.
 *
 * @since 0.1.0
 */
export const secretFileWarning = (flag: string, path: string, mode: number): string | undefined =>
  (mode & 0o077) === 0
    ? undefined
    : `--${flag} ${path} is readable by ${(mode & 0o070) !== 0 ? "its group" : ""}${(mode & 0o070) !== 0 && (mode & 0o007) !== 0 ? " and " : ""}${(mode & 0o007) !== 0 ? "others" : ""} (mode ${(mode & 0o777).toString(8).padStart(4, "0")}); a secret should be readable by its owner only: chmod 600 ${path}`

/**
 * Replaces `clientSecretFile` / `accessTokenFile` by the secrets they hold, read through
 * `FileSystem`. Returns the warnings to log for files others can read.
 *
 * @since 0.1.0
 */
export const readSecretFiles = (settings: Record<string, string>) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const out = { ...settings }
    const warnings: Array<string> = []
    for (const [fileKey, key] of [
      ["clientSecretFile", "clientSecret"],
      ["accessTokenFile", "accessToken"]
    ] as const) {
      const path = out[fileKey]
      if (path === undefined) continue
      const cannot = (e: { readonly message: string; readonly cause?: unknown }) =>
        new SettingsError({
          field: fileKey,
          message: `${named(fileKey)} ${path}: cannot read it: ${reasonOf(e)}`
        })
      const info = yield* fs.stat(path).pipe(Effect.mapError(cannot))
      const warning = secretFileWarning(flagName(fileKey), path, info.mode)
      if (warning !== undefined) warnings.push(warning)
      const text = yield* fs.readFileString(path).pipe(Effect.mapError(cannot))
      out[key] = text.trim()
      delete out[fileKey]
    }
    return { settings: out, warnings }
  })
