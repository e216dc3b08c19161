/**
 * The `hitstream` commands: `run`, `enable`, `simulate`, `demo`. They parse, wire the client's
 * layers and render; the stream logic lives in `@hitstream/client` and `@hitstream/core`.
 *
 * @since 0.1.0
 */
import { Connection, LiveStream, LiveStreamConfig, NodeLiveStream } from "@hitstream/client"
import { Config, Hit } from "@hitstream/core"
import { Simulator, SimulatorCommand } from "@hitstream/simulator"
import { Console, Deferred, Duration, Effect, Layer, Logger, Option, References, Stream } from "effect"
import { Command, Flag } from "effect/cli"
import { parse as parseYaml } from "yaml"
import * as MetricsServer from "./MetricsServer.ts"
import * as Settings from "./Settings.ts"
import * as Sink from "./Sink.ts"
import * as Status from "./Status.ts"

/**
 * Completed on the first SIGINT or SIGTERM: the running command drains and exits.
 *
 * @since 0.1.0
 */
export const shutdown = Deferred.makeUnsafe<void>()

const descriptions: Record<string, string> = {
  url: "stream URI Adobe provisioned, e.g. https://livestream.adobe.net/api/1/stream/NAME",
  clientId: "IMS client id (also sent as x-api-key)",
  tokenUrl: "IMS token endpoint (default https://ims-na1.adobelogin.com/ims/token/v3)",
  scopes: "comma-separated IMS scopes, copied from the Developer Console project",
  maxConnections: "clients sharing the stream, 1 to 8; every client must send the same value",
  connections: "slots (connections) this process opens, 1 to maxConnections (default 1)",
  reset: "where a (re)connection starts: smallest|largest (also earliest|latest)",
  smoothing: "true to ask the server to even out bursts",
  smoothingBucketSize: "smoothing window in seconds, 1 to 7200",
  minReconnectDelay: "wait after a lost connection before the next, e.g. 60s (default 60s: Adobe's rule)",
  maxReconnectDelay: "cap of the growing wait after repeated failures (default 10m)",
  healthyAfter: "a connection that lasted this long resets the growth (default 5m)",
  stallTimeout: "treat this long without bytes as a lost connection (default off: quiet suites send nothing)",
  trustedRedirectHosts: "comma-separated hosts (or *.domain) that redirects may send the token to",
  dedupCapacity: "hits remembered for dropping duplicates (default 1000000, ~25 B each)",
  bufferSize: "hits held for a slow sink before reading pauses (default 4096)",
  sink: "where hits go: stdout (default) or file:PATH",
  format: "raw (each record's original JSON, byte for byte; default) or json (ids as exact decimal strings)",
  stateDir: "where each slot's last connection end is kept for restart-safe spacing",
  metricsPort: "serve /metrics (Prometheus) and /healthz on 127.0.0.1:PORT",
  logLevel: "debug|info|warn|error (logs go to stderr)",
  logFormat: "pretty|json",
  rotateSize: "file sink: rotate at this size, e.g. 100MB",
  rotateInterval: "file sink: rotate at this age, e.g. 1h",
  rotateGzip: "file sink: gzip rotated files (true|false)",
  clientSecretFile: "file holding the IMS client secret (or set HITSTREAM_CLIENT_SECRET)",
  accessTokenFile: "file holding a static access token (or set HITSTREAM_ACCESS_TOKEN)"
}

const settingFlag = (key: string) =>
  Flag.String(Settings.flagName(key)).pipe(
    Flag.withDescription(`${descriptions[key] ?? key} [env ${Config.envName(key)}]`),
    Flag.optional
  )

const settingKeys = Settings.keys.filter((k) => k !== "clientSecret" && k !== "accessToken")

const settingFlags = Object.fromEntries(settingKeys.map((key) => [key, settingFlag(key)])) as Record<
  string,
  Flag.Flag<Option.Option<string>>
>

const configFlag = Flag.String("config").pipe(
  Flag.withDescription(
    "JSON or YAML file with the same keys (camelCase); flags > env > file > defaults [env HITSTREAM_CONFIG]"
  ),
  Flag.optional
)

const resolveSettings = (flags: Record<string, Option.Option<string>>, configPath: Option.Option<string>) =>
  Effect.gen(function* () {
    const path = Option.getOrUndefined(configPath) ?? process.env.HITSTREAM_CONFIG
    const file = path === undefined ? {} : yield* Settings.readConfigFile(path)
    const given: Record<string, string | undefined> = {}
    for (const key of settingKeys) given[key] = Option.getOrUndefined(flags[key] ?? Option.none())
    const merged = yield* Settings.readSecretFiles(Settings.merge(given, process.env, file))
    const program = yield* Settings.programSettings(merged)
    const client = yield* Settings.clientSettings(merged)
    return { program, client }
  })

/**
 * Logs on stderr, at the chosen level and format.
 *
 * @since 0.1.0
 */
export const loggerLayer = (
  level: Settings.ProgramSettings["logLevel"],
  format: Settings.ProgramSettings["logFormat"]
) =>
  Layer.mergeAll(
    format === "json"
      ? Logger.layer([Logger.withConsoleError(Logger.formatJson)])
      : process.stderr.isTTY === true
        ? // On a terminal, a log line first clears the live status line it would otherwise run into.
          Logger.layer([
            Logger.map(Logger.formatLogFmt, (line) => {
              process.stderr.write(`\r\x1b[K${line}\n`)
            })
          ])
        : Logger.layer([Logger.withConsoleError(Logger.formatLogFmt)]),
    Layer.succeed(Logger.LogToStderr, true),
    Layer.succeed(
      References.MinimumLogLevel,
      level === "warn" ? "Warn" : level === "error" ? "Error" : level === "debug" ? "Debug" : "Info"
    )
  )

const warnIfFast = (config: Config.ClientConfig) =>
  config.policy.minReconnectDelay < 60_000
    ? Effect.logWarning(
        `minReconnectDelay is ${config.policy.minReconnectDelay / 1000}s, below the 60s Adobe asks for: the load balancer may still count the old connection, and quick reconnects get 409 and 503 (support article KA-16598)`
      )
    : Effect.void

/**
 * Streams hits into the sink until the limit, the duration, a signal or a fatal error, then
 * drains what was already received and closes the sink.
 *
 * @since 0.1.0
 */
export const runStream = (options: {
  readonly sink: Sink.Sink
  readonly limit: number | undefined
  readonly duration: Duration.Duration | undefined
  readonly tty: boolean
  readonly label?: string
  readonly onHits?: (hits: ReadonlyArray<Hit.Hit>) => Effect.Effect<void>
}) =>
  Effect.gen(function* () {
    const live = yield* LiveStream.LiveStream
    yield* Effect.forkScoped(
      Status.run(live, {
        tty: options.tty,
        write: (t) => process.stderr.write(t),
        ...(options.label ? { label: options.label } : {})
      })
    )
    yield* Effect.forkScoped(Deferred.await(shutdown).pipe(Effect.andThen(live.stop)))
    if (options.duration !== undefined)
      yield* Effect.forkScoped(Effect.sleep(options.duration).pipe(Effect.andThen(live.stop)))
    let stream = live.hits
    if (options.limit !== undefined) stream = Stream.take(stream, options.limit)
    yield* stream.pipe(
      Stream.runForEachArray((hits) =>
        options.onHits === undefined
          ? options.sink.write(hits)
          : Effect.andThen(options.sink.write(hits), options.onHits(hits))
      ),
      Effect.ensuring(options.sink.close.pipe(Effect.ignore))
    )
    if (options.tty) process.stderr.write("\n")
  }).pipe(Effect.scoped)

const limitFlag = Flag.Int("limit").pipe(
  Flag.withDescription("stop after this many hits, exit 0"),
  Flag.optional
)
const durationFlag = Flag.String("duration").pipe(
  Flag.withDescription("stop after this long, e.g. 30s or 2h, exit 0"),
  Flag.optional
)

const parseDurationFlag = (value: Option.Option<string>) =>
  Option.isNone(value)
    ? Effect.succeed(undefined)
    : Option.match(Config.parseDuration(value.value), {
        onNone: () =>
          Effect.fail(
            new Settings.SettingsError({
              field: "duration",
              message: `--duration is ${JSON.stringify(value.value)}; write it like 30s, 5m or 2h`
            })
          ),
        onSome: (d) => Effect.succeed(d)
      })

/**
 * `hitstream run`
 *
 * @since 0.1.0
 */
export const run = Command.make(
  "run",
  { ...settingFlags, config: configFlag, limit: limitFlag, duration: durationFlag },
  Effect.fnUntraced(function* (flags) {
    const { config: configPath, limit, duration, ...rest } = flags
    const { program, client } = yield* resolveSettings(
      rest as Record<string, Option.Option<string>>,
      configPath
    )
    const until = yield* parseDurationFlag(duration)
    const sink =
      program.sink._tag === "Stdout"
        ? Sink.stdout(program.format)
        : yield* Sink.file({
            path: program.sink.path,
            format: program.format,
            rotateSize: program.rotateSize,
            rotateInterval: program.rotateInterval,
            rotateGzip: program.rotateGzip
          })
    const journal = NodeLiveStream.fileJournal(program.stateDir, client.url)
    const services = NodeLiveStream.layerWith(LiveStreamConfig.LiveStreamConfig.layerValue(client), journal)
    yield* Effect.gen(function* () {
      yield* warnIfFast(client)
      const live = yield* LiveStream.LiveStream
      if (program.metricsPort !== undefined) {
        yield* Layer.launch(MetricsServer.layer(program.metricsPort, live)).pipe(Effect.forkScoped)
      }
      yield* runStream({
        sink,
        limit: Option.getOrUndefined(limit),
        duration: until,
        tty: process.stderr.isTTY === true && program.logFormat === "pretty"
      })
    }).pipe(
      Effect.scoped,
      Effect.provide(services),
      Effect.provide(loggerLayer(program.logLevel, program.logFormat))
    )
  })
).pipe(
  Command.withDescription(
    "Connect to your Live Stream and write every hit to the sink, once, until stopped, a limit, or a fatal error. Keeps one connection per slot open and waits at least --min-reconnect-delay (60s) after losing it, even across restarts. Secrets come from HITSTREAM_CLIENT_SECRET / HITSTREAM_ACCESS_TOKEN or --client-secret-file / --access-token-file, never from a flag. Exit codes: 0 done, 2 usage or configuration error, 3 fatal API or auth error, 1 unexpected."
  ),
  Command.withExamples([
    {
      command:
        "hitstream run --url https://livestream.adobe.net/api/1/stream/NAME --client-id ID --client-secret-file secret.txt",
      description: "stream to stdout"
    },
    {
      command:
        "hitstream run --config hitstream.yaml --sink file:/var/lib/hitstream/hits.ndjson --rotate-size 1GB --rotate-gzip true",
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
  { ...settingFlags, config: configFlag },
  Effect.fnUntraced(function* (flags) {
    const { config: configPath, ...rest } = flags
    const { program, client } = yield* resolveSettings(
      rest as Record<string, Option.Option<string>>,
      configPath
    )
    const message = yield* Effect.gen(function* () {
      const connection = yield* Connection.Connection
      return yield* connection.enable
    }).pipe(
      Effect.provide(NodeLiveStream.layerWith(LiveStreamConfig.LiveStreamConfig.layerValue(client))),
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
 * `hitstream demo`: the simulator and the client in one process, with a scripted drop.
 *
 * @since 0.1.0
 */
export const demo = Command.make(
  "demo",
  {
    duration: durationFlag,
    rate: Flag.Int("rate").pipe(
      Flag.withDescription("hits per second the simulator generates"),
      Flag.withDefault(25)
    ),
    delay: Flag.String("min-reconnect-delay").pipe(
      Flag.withDescription("the demo's shortened spacing after a drop (real streams: 60s)"),
      Flag.withDefault("8s")
    )
  },
  Effect.fnUntraced(function* (flags) {
    const until = yield* parseDurationFlag(flags.duration)
    const tty = process.stderr.isTTY === true
    yield* Effect.gen(function* () {
      const sim = yield* Simulator.Simulator
      const config = yield* Config.decode({
        url: sim.streamUrl(),
        clientId: sim.clientId,
        clientSecret: sim.clientSecret,
        tokenUrl: sim.tokenUrl,
        minReconnectDelay: flags.delay
      })
      const seen = new Set<string>()
      let duplicates = 0
      const note = (text: string) =>
        tty ? process.stderr.write(`\r\x1b[K${text}\n`) : Effect.runSync(Console.error(text))
      note(
        [
          `hitstream demo: a Live Stream simulator on ${sim.baseUrl}, and the client reading it.`,
          `The simulator drops the connection after 150 hits. The client then waits ${flags.delay} before reconnecting:`,
          `shortened for the demo; against Adobe the default and the vendor's rule is 60s.`,
          `Hits go to stdout (page, city, hit id); status to stderr. Ctrl-C stops.`,
          ``
        ].join("\n")
      )
      const onHits = (hits: ReadonlyArray<Hit.Hit>) =>
        Effect.sync(() => {
          for (const h of hits) {
            const id = `${h.hitIdHigh}:${h.hitIdLow}`
            if (seen.has(id)) duplicates++
            seen.add(id)
          }
        })
      const sink = Sink.stdout(
        (h) =>
          `${String(h.pageName ?? "").padEnd(40)} ${String(h["geoCity"] ?? "").padEnd(10)} ${h.hitIdHigh}`
      )
      yield* runStream({ sink, limit: undefined, duration: until, tty, label: "[demo] ", onHits }).pipe(
        Effect.provide(NodeLiveStream.layerWith(LiveStreamConfig.LiveStreamConfig.layerValue(config)))
      )
      const sent = yield* sim.sent
      const missing = sent.filter((s) => !seen.has(`${s.hitIdHigh}:${s.hitIdLow}`)).length
      const log = yield* sim.log
      note(
        `\n${seen.size} distinct hits received; the simulator sent ${sent.length} (missing: ${missing}, delivered twice: ${duplicates}); ${log.length} connection attempts: ${log.map((a) => a.status).join(", ")}`
      )
    }).pipe(
      Effect.provide(
        Simulator.Simulator.layer({
          rate: flags.rate,
          gracePeriod: 3_000,
          scenario: [{ status: 200, after: 150, fault: "drop" }]
        })
      ),
      Effect.provide(loggerLayer("info", "pretty"))
    )
  })
).pipe(
  Command.withDescription(
    "Start the simulator in this process and stream from it: hits flowing, a scripted drop, the client waiting out the (shortened) spacing, and resuming with nothing lost. `npm start` runs this."
  )
)

/**
 * `hitstream`
 *
 * @since 0.1.0
 */
export const hitstream = Command.make("hitstream").pipe(
  Command.withDescription(
    "An Effect-native client for the Adobe Analytics Live Stream API, with a simulator to try it without credentials."
  ),
  Command.withSubcommands([run, enable, SimulatorCommand.make(parseYaml, Deferred.await(shutdown)), demo])
)
