/**
 * The `hitstream` commands: `run`, `enable`, `simulate`, `demo`. They parse, wire the client's
 * layers and render; the stream logic lives in `@hitstream/client` and `@hitstream/core`.
 *
 * Everything that can be checked without the network is checked before the first connection:
 * settings, files and directories, the metrics port (the metrics server is a layer built with
 * the client's). A problem there exits 2 with one line naming the flag and its variable.
 *
 * @since 0.1.0
 */
import { Connection, LiveStream, LiveStreamConfig, Network, NodeLiveStream } from "@hitstream/client"
import { Config, Hit, RedactedUrl } from "@hitstream/core"
import { Simulator, SimulatorCommand, Tls } from "@hitstream/simulator"
import { Console, Duration, Effect, Layer, Logger, Option, References, Stream } from "effect"
import { Command, Flag } from "effect/cli"
import * as Yaml from "effect/encoding/Yaml"
import * as Files from "./Files.ts"
import * as DashboardServer from "./Dashboard.ts"
import * as Fleet from "./Fleet.ts"
import * as Flags from "./Flags.ts"
import * as MetricsServer from "./MetricsServer.ts"
import * as Settings from "./Settings.ts"
import * as Sources from "./Sources.ts"
import { Shutdown } from "./Shutdown.ts"
import * as Sink from "./Sink.ts"
import * as Status from "./Status.ts"
import * as Terminal from "./Terminal.ts"

const resolveSettings = (
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

const parseDurationFlag = (value: Option.Option<string>) =>
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

const parseLimit = (value: Option.Option<number>) =>
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
const openSink = (program: Settings.ProgramSettings, line: Terminal.StatusLine | undefined) => {
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
 * `hitstream run`
 *
 * @since 0.1.0
 */
export const run = Command.make(
  "run",
  { ...Flags.settings, config: Flags.config, limit: Flags.limit, duration: Flags.duration },
  Effect.fnUntraced(function* (flags) {
    const { config: configPath, limit: limitFlag, duration, ...rest } = flags
    const { program, client, warnings } = yield* resolveSettings(rest, configPath)
    const until = yield* parseDurationFlag(duration)
    const limit = yield* parseLimit(limitFlag)
    const stateDir = program.stateDir ?? Files.defaultStateDir()
    yield* Files.prepareStateDir(stateDir, program.fileMode)
    if (program.sink._tag === "File") yield* Files.checkSinkPath(program.sink.path)
    const line = program.logFormat === "pretty" ? Terminal.forStderr() : undefined
    // With --fleet / a nats:// sink: the NATS client, the fleet's leases and journal, the sink.
    const wired = yield* Fleet.wire(
      {
        sink: program.sink._tag === "Nats" ? program.sink.url : undefined,
        fleet: program.fleet,
        credsFile: program.natsCredsFile,
        env: process.env
      },
      client,
      NodeLiveStream.fileJournal(stateDir, client.url)
    )
    const clientLayer = NodeLiveStream.layerWith(
      LiveStreamConfig.layerValue(wired.client),
      wired.journal,
      Network.layer(networkOptions(program))
    )
    // The metrics server binds while the layers are built, before the first connection.
    const services =
      program.metricsPort === undefined
        ? clientLayer
        : MetricsServer.layer({ port: program.metricsPort, host: program.metricsHost }).pipe(
            Layer.provideMerge(clientLayer)
          )
    yield* Effect.gen(function* () {
      for (const warning of warnings) yield* Effect.logWarning(warning)
      const sink = Option.getOrUndefined(yield* wired.sink) ?? (yield* openSink(program, line))
      yield* runStream({
        sink,
        limit,
        duration: until,
        line,
        ...(program.dashboardPort === undefined ? {} : { onHits: DashboardServer.recordIfServed })
      })
    }).pipe(
      DashboardServer.provideForRun({ port: program.dashboardPort, host: program.dashboardHost }),
      Effect.scoped,
      Effect.provide(services),
      Effect.provide(loggerLayer(program.logLevel, program.logFormat, line)),
      // The reader went away: the end of the run, as for `head`, with exit 0 and no message.
      Effect.catchTag("StdoutClosed", () => Effect.void)
    )
  })
).pipe(
  Command.withDescription(
    "Connect to your Live Stream and write every hit to the sink, once, until stopped, a limit, or a fatal error. Keeps one connection per slot open and waits at least --min-reconnect-delay (60s) after losing it, even across restarts. Secrets come from HITSTREAM_CLIENT_SECRET / HITSTREAM_ACCESS_TOKEN or --client-secret-file / --access-token-file, never from a flag or the config file. Files are created readable by their owner only (--file-mode widens). Exit codes: 0 done (also when the reader of stdout goes away), 2 usage or configuration error, 3 fatal API or auth error, 1 unexpected."
  ),
  Command.withExamples([
    {
      command:
        "hitstream run --url https://livestream.adobe.net/api/1/stream/NAME --client-id ID --client-secret-file secret.txt",
      description: "stream to stdout"
    },
    {
      command:
        "hitstream run --config hitstream.yaml --sink file:/var/lib/hitstream/hits.ndjson --rotate-size 1GB --rotate-gzip",
      description: "stream to rotating files"
    }
  ])
)

/**
 * `hitstream enable`
 *
 * @since 0.1.0
 */
export const enable = Command.make(
  "enable",
  { ...Flags.settings, config: Flags.config },
  Effect.fnUntraced(function* (flags) {
    const { config: configPath, ...rest } = flags
    const { program, client, warnings } = yield* resolveSettings(rest, configPath)
    const message = yield* Effect.gen(function* () {
      for (const warning of warnings) yield* Effect.logWarning(warning)
      const connection = yield* Connection.Connection
      return yield* connection.enable
    }).pipe(
      Effect.provide(
        NodeLiveStream.layerParts(
          LiveStreamConfig.layerValue(client),
          undefined,
          Network.layer(networkOptions(program))
        )
      ),
      Effect.provide(loggerLayer(program.logLevel, program.logFormat))
    )
    yield* Console.log(message)
  })
).pipe(
  Command.withDescription(
    "Enable the configured stream for the current API version (GET /api/2/enable/NAME): the fix for a 424. Takes the same connection settings as run. The new payloads arrive within 15 minutes."
  )
)

/**
 * The demo's line for a hit: page and city in fixed columns (display columns: `東京` is four
 * wide), then the hit id.
 *
 * @since 0.1.0
 */
export const demoLine = (hit: Hit.Hit): string =>
  `${Terminal.padEnd(String(hit.pageName ?? ""), 40)} ${Terminal.padEnd(String(hit["geoCity"] ?? ""), 12)} ${hit.hitIdHigh}`

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

/**
 * `hitstream demo`: the simulator and the client in one process, with a scripted drop.
 *
 * @since 0.1.0
 */
export const demo = Command.make(
  "demo",
  {
    duration: Flags.duration,
    rate: Flag.Int("rate").pipe(
      Flag.withDescription("hits per second the simulator generates"),
      Flag.withDefault(25)
    ),
    delay: Flag.String("min-reconnect-delay").pipe(
      Flag.withDescription("the demo's shortened spacing after a drop (real streams: 60s)"),
      Flag.withDefault("8s")
    ),
    tls: Flag.Boolean("tls").pipe(
      Flag.withDescription(
        "serve the simulator over HTTPS with a CA made for the run, which the client trusts as with --ca-file"
      ),
      Flag.withDefault(false)
    )
  },
  Effect.fnUntraced(function* (flags) {
    const until = yield* parseDurationFlag(flags.duration)
    const tls = flags.tls ? yield* Tls.generate() : undefined
    const line = Terminal.forStderr()
    yield* Effect.gen(function* () {
      const sim = yield* Simulator.Simulator
      const config = yield* Config.decode({
        url: sim.streamUrl(),
        clientId: sim.clientId,
        clientSecret: sim.clientSecret,
        tokenUrl: sim.tokenUrl(),
        minReconnectDelay: flags.delay
      })
      const seen = new Set<string>()
      let duplicates = 0
      const note = (text: string) =>
        line !== undefined ? line.above(text) : Effect.runSync(Console.error(text))
      const intro = [
        `hitstream demo: a Live Stream simulator on ${sim.baseUrl}, and the client reading it.`,
        `The simulator drops the connection after 150 hits. The client then waits ${flags.delay} before reconnecting:`,
        `shortened for the demo; against Adobe the default and the vendor's rule is 60s.`,
        `Hits go to stdout (page, city, hit id); status to stderr. Ctrl-C stops.`,
        ``
      ].join("\n")
      const onHits = (hits: ReadonlyArray<Hit.Hit>) =>
        Effect.sync(() => {
          for (const h of hits) {
            const id = `${h.hitIdHigh}:${h.hitIdLow}`
            if (seen.has(id)) duplicates++
            seen.add(id)
          }
        })
      const sink = yield* Sink.stdout(demoLine, { line: process.stdout.isTTY === true ? line : undefined })
      yield* Effect.gen(function* () {
        // The dashboard's address first: the page shows the drop and the reconnection as they happen.
        note(
          `Dashboard: ${yield* DashboardServer.url}  (slots, the drop and the wait, hits/s, lag, top pages)`
        )
        note(intro)
        yield* runStream({
          sink,
          limit: undefined,
          duration: until,
          line,
          label: "[demo] ",
          onHits: (hits) => Effect.andThen(onHits(hits), DashboardServer.recordIfServed(hits))
        }).pipe(
          DashboardServer.attached,
          Effect.provide(
            NodeLiveStream.layerWith(
              LiveStreamConfig.layerValue(config),
              undefined,
              Network.layer(tls === undefined ? {} : { caFiles: [tls.caFile] })
            )
          )
        )
      }).pipe(Effect.provide(DashboardServer.layerForDemo()))
      const sent = yield* sim.sent
      const missing = sent.filter((s) => !seen.has(`${s.hitIdHigh}:${s.hitIdLow}`)).length
      const log = yield* sim.log
      note(
        `\n${seen.size} distinct hits received; the simulator sent ${sent.length} (missing: ${missing}, delivered twice: ${duplicates}); ${log.length} connection attempts: ${log.map((a) => a.status).join(", ")}`
      )
    }).pipe(
      Effect.provide(
        Simulator.layer({
          rate: flags.rate,
          gracePeriod: 3_000,
          scenario: [{ status: 200, after: 150, fault: "drop" }],
          tls
        })
      ),
      Effect.provide(loggerLayer("info", "pretty", line)),
      Effect.catchTag("StdoutClosed", () => Effect.void)
    )
  }, Effect.scoped)
).pipe(
  Command.withDescription(
    "Start the simulator in this process and stream from it: hits flowing, a scripted drop, the client waiting out the (shortened) spacing, and resuming with nothing lost. `npm start` runs this."
  )
)

/**
 * `hitstream`, its commands stopping on the given request.
 *
 * @since 0.1.0
 */
export const make = (shutdown: Shutdown["Service"]) =>
  Command.make("hitstream").pipe(
    Command.withDescription(
      "An Effect-native client for the Adobe Analytics Live Stream API, with a simulator to try it without credentials."
    ),
    Command.withSubcommands([run, enable, SimulatorCommand.make(Yaml.parse, shutdown.requested), demo])
  )
