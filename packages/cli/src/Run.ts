/**
 * `hitstream run` and `hitstream enable`: what they do once their flags are parsed. Loaded on
 * demand by `Commands.ts`, so that parsing the command line loads none of the client.
 *
 * @since 0.1.0
 */
import { Connection, LiveStreamConfig, Network, NodeLiveStream } from "@hitstream/client"
import { Console, Effect, Layer, Option } from "effect"
import type * as Commands from "./Commands.ts"
import * as DashboardServer from "./Dashboard.ts"
import * as Files from "./Files.ts"
import * as Fleet from "./Fleet.ts"
import * as MetricsServer from "./MetricsServer.ts"
import {
  loggerLayer,
  networkOptions,
  openSink,
  parseDurationFlag,
  parseLimit,
  resolveSettings,
  runStream
} from "./Program.ts"
import * as Terminal from "./Terminal.ts"

/**
 * `hitstream run`, after its flags are parsed.
 *
 * @since 0.1.0
 */
export const run = Effect.fnUntraced(function* (flags: Commands.RunFlags) {
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

/**
 * `hitstream enable`, after its flags are parsed.
 *
 * @since 0.1.0
 */
export const enable = Effect.fnUntraced(function* (flags: Commands.EnableFlags) {
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
