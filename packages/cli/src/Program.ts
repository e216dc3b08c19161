/**
 * What the commands share: settings resolved in order (flags > environment > file > defaults),
 * the logger, the sink, and the loop that streams hits into the sink until a limit, a duration
 * or a stop. Loaded with the command handlers, after the command line is parsed, so that
 * `hitstream --help` and `--version` load none of it.
 *
 * @since 0.1.0
 */
import { LiveStream, type Network } from "@hitstream/client"
import { Config, type Hit, RedactedUrl } from "@hitstream/core"
import { type Duration, Effect, Layer, Logger, Option, References, Stream } from "effect"
import * as Flags from "./Flags.ts"
import * as Settings from "./Settings.ts"
import { Shutdown } from "./Shutdown.ts"
import * as Sink from "./Sink.ts"
import * as Sources from "./Sources.ts"
import * as Status from "./Status.ts"
import type * as Terminal from "./Terminal.ts"

/**
 * The settings of `run` and `enable`, from their flags, the environment and the config file.
 *
 * @since 0.1.0
 */
export const resolveSettings = (
  flags: Record<string, Option.Option<Flags.Value>>,
  configPath: Option.Option<string>
) =>
  Effect.gen(function* () {
    const path = Option.getOrUndefined(configPath) ?? (process.env.HITSTREAM_CONFIG || undefined)
    const file = path === undefined ? {} : yield* Sources.readConfigFile(path)
    const merged = yield* Sources.merge(Flags.given(flags), process.env, file)
    const { settings, warnings } = yield* Sources.readSecretFiles(merged)
    const program = yield* Settings.programSettings(settings)
    const client = yield* Settings.clientSettings(settings, program)
    return { program, client, warnings }
  })

/**
 * Logs on stderr, at the chosen level and format, URLs redacted. With a status line, a log line
 * goes above it.
 *
 * @since 0.1.0
 */
export const loggerLayer = (
  level: Settings.ProgramSettings["logLevel"],
  format: Settings.ProgramSettings["logFormat"],
  line?: Terminal.StatusLine
) => {
  // Every line is redacted: a message may quote a URL with credentials (a redirect's Location).
  const text = Logger.map(format === "json" ? Logger.formatJson : Logger.formatLogFmt, RedactedUrl.redactText)
  return Layer.mergeAll(
    Logger.layer([
      line !== undefined && format === "pretty"
        ? Logger.map(text, (t) => line.above(t))
        : Logger.withConsoleError(text)
    ]),
    Layer.succeed(Logger.LogToStderr, true),
    Layer.succeed(
      References.MinimumLogLevel,
      level === "warn" ? "Warn" : level === "error" ? "Error" : level === "debug" ? "Debug" : "Info"
    )
  )
}

/**
 * Streams hits into the sink until the limit, the duration, a stop request or a fatal error,
 * then drains what was already received and closes the sink. A reader of stdout that goes away
 * ends it at once (`StdoutClosed`).
 *
 * @since 0.1.0
 */
export const runStream = (options: {
  readonly sink: Sink.Sink
  readonly limit: number | undefined
  readonly duration: Duration.Duration | undefined
  readonly line: Terminal.StatusLine | undefined
  readonly label?: string
  readonly onHits?: (hits: ReadonlyArray<Hit.Hit>) => Effect.Effect<void>
}) =>
  Effect.gen(function* () {
    const live = yield* LiveStream.LiveStream
    const shutdown = yield* Shutdown
    yield* Effect.forkScoped(
      Status.run(live, { line: options.line, ...(options.label ? { label: options.label } : {}) })
    )
    yield* Effect.forkScoped(Effect.andThen(shutdown.requested, live.stop))
    if (options.duration !== undefined)
      yield* Effect.forkScoped(Effect.sleep(options.duration).pipe(Effect.andThen(live.stop)))
    let stream = live.hits
    if (options.limit !== undefined) stream = Stream.take(stream, options.limit)
    const consume = stream.pipe(
      Stream.runForEachArray((hits) =>
        options.onHits === undefined
          ? options.sink.write(hits)
          : Effect.andThen(options.sink.write(hits), options.onHits(hits))
      )
    )
    // A sink that breaks between writes (the reader of stdout went away) ends the run now, not
    // at the next hit, which on a quiet stream may be long in coming.
    yield* Effect.raceFirst(consume, options.sink.broken).pipe(
      Effect.ensuring(options.sink.close.pipe(Effect.ignore)),
      Effect.ensuring(Effect.sync(() => options.line?.clear()))
    )
  }).pipe(Effect.scoped)

/**
 * `--duration`, parsed.
 *
 * @since 0.1.0
 */
export const parseDurationFlag = (value: Option.Option<string>) =>
  Option.isNone(value)
    ? Effect.succeed(undefined)
    : Option.match(Config.parseDuration(value.value), {
        onNone: () =>
          Effect.fail(
            new Settings.SettingsError({
              field: "duration",
              message: `--duration is ${JSON.stringify(value.value)}: write it like 30s, 5m or 2h`
            })
          ),
        onSome: (d) => Effect.succeed(d)
      })

/**
 * `--limit`, checked.
 *
 * @since 0.1.0
 */
export const parseLimit = (value: Option.Option<number>) =>
  Option.isNone(value)
    ? Effect.succeed(undefined)
    : value.value < 1
      ? Effect.fail(
          new Settings.SettingsError({
            field: "limit",
            message: `--limit is ${value.value}: it must be at least 1`
          })
        )
      : Effect.succeed(value.value)

/**
 * The sink chosen by the settings, opened (a file: created with the file mode).
 *
 * @since 0.1.0
 */
export const openSink = (program: Settings.ProgramSettings, line: Terminal.StatusLine | undefined) => {
  if (program.sink._tag === "Stdout")
    return Sink.stdout(program.format, { line: process.stdout.isTTY === true ? line : undefined })
  if (program.sink._tag === "Nats") return Effect.die("a nats:// sink is opened by Fleet.wire")
  const path = program.sink.path
  return Sink.file({
    path,
    format: program.format,
    rotateSize: program.rotateSize,
    rotateInterval: program.rotateInterval,
    rotateGzip: program.rotateGzip,
    mode: program.fileMode
  }).pipe(
    Effect.mapError(
      (e) =>
        new Settings.SettingsError({
          field: "sink",
          message: `${Settings.named("sink")} file:${path}: ${e.message}`
        })
    )
  )
}

/**
 * The client's network settings from the program's: `--ca-file` and `--proxy`; the standard
 * proxy variables come from the environment.
 *
 * @since 0.1.0
 */
export const networkOptions = (program: Settings.ProgramSettings): Network.Options => {
  // Several files may be given, separated by commas, as for other list settings.
  const caFiles = (program.caFile ?? "")
    .split(",")
    .map((file) => file.trim())
    .filter((file) => file.length > 0)
  return {
    ...(caFiles.length === 0 ? {} : { caFiles }),
    ...(program.proxy === undefined ? {} : { proxy: program.proxy })
  }
}
