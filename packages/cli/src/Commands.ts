/**
 * The `hitstream` commands: `run`, `enable`, `simulate`, `demo`, as the command line sees them:
 * flags, descriptions and examples. What each does lives in `Run.ts` and `Demo.ts` (with what they
 * share in `Program.ts`), loaded only when a command runs: `hitstream --help` and `--version`
 * parse the command line without loading the client, the simulator, NATS or the dashboard, so
 * that the program starts fast.
 *
 * Everything that can be checked without the network is checked before the first connection:
 * settings, files and directories, the metrics port (the metrics server is a layer built with
 * the client's). A problem there exits 2 with one line naming the flag and its variable.
 *
 * @since 0.1.0
 */
import * as SimulatorCommand from "@hitstream/simulator/SimulatorCommand"
import { Effect } from "effect"
import { Command, Flag } from "effect/cli"
import * as Yaml from "effect/encoding/Yaml"
import * as Flags from "./Flags.ts"
import type { Shutdown } from "./Shutdown.ts"

/**
 * A streaming command's handlers, with the program's heap sizing applied (NodeHeap.compactHeap,
 * for a process that streams for months): it loads with them, so `--help`, `--version`, a usage
 * error and the short commands skip it.
 */
const streaming = <A>(load: () => Promise<A>): Effect.Effect<A> =>
  Effect.promise(() => Promise.all([import("@hitstream/client/NodeHeap"), load()])).pipe(
    Effect.map(([heap, handlers]) => {
      heap.compactHeap()
      return handlers
    })
  )

const runFlags = { ...Flags.settings, config: Flags.config, limit: Flags.limit, duration: Flags.duration }

/**
 * @since 0.1.0
 */
export type RunFlags = Command.Command.Config.Infer<typeof runFlags>

/**
 * `hitstream run`
 *
 * @since 0.1.0
 */
export const run = Command.make("run", runFlags, (flags) =>
  Effect.flatMap(
    streaming(() => import("./Run.ts")),
    (handlers) => handlers.run(flags)
  )
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

const enableFlags = { ...Flags.settings, config: Flags.config }

/**
 * @since 0.1.0
 */
export type EnableFlags = Command.Command.Config.Infer<typeof enableFlags>

/**
 * `hitstream enable`
 *
 * @since 0.1.0
 */
export const enable = Command.make("enable", enableFlags, (flags) =>
  Effect.flatMap(
    Effect.promise(() => import("./Run.ts")),
    (handlers) => handlers.enable(flags)
  )
).pipe(
  Command.withDescription(
    "Enable the configured stream for the current API version (GET /api/2/enable/NAME): the fix for a 424. Takes the same connection settings as run. The new payloads arrive within 15 minutes."
  )
)

const demoFlags = {
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
}

/**
 * @since 0.1.0
 */
export type DemoFlags = Command.Command.Config.Infer<typeof demoFlags>

/**
 * `hitstream demo`: the simulator and the client in one process, with a scripted drop.
 *
 * @since 0.1.0
 */
export const demo = Command.make("demo", demoFlags, (flags) =>
  Effect.flatMap(
    streaming(() => import("./Demo.ts")),
    (handlers) => handlers.demo(flags)
  )
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
