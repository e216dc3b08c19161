/**
 * The process around the commands: signals and exit codes.
 *
 * Exit codes: 0 finished (limit, duration, or SIGINT/SIGTERM after draining); 2 usage or
 * configuration error (the message names the option, the value and the valid range); 3 fatal
 * API or auth error (the message says what to fix); 1 anything unexpected. The first SIGINT or
 * SIGTERM drains: connections close, every hit already received is written, the sink is
 * flushed. A second SIGINT exits at once. A reader of stdout that goes away (`| head`) ends the
 * run with 0 and no message, as for any Unix tool.
 *
 * @since 0.1.0
 */
import { RedactedUrl } from "@hitstream/core"
import { Cause, Console, Effect, Exit } from "effect"
import { CliConfig, CliError, CliOutput, Command, GlobalFlag } from "effect/cli"
import * as Commands from "./Commands.ts"
import * as LazyNodeServices from "./LazyNodeServices.ts"
import { Shutdown } from "./Shutdown.ts"
import { version } from "./version.ts"

const usageErrors = new Set([
  "SettingsError",
  "ConfigError",
  "MetricsServerError",
  "ScenarioFileError",
  "SimulatorStartError",
  "InvalidPolicyOption",
  "NetworkSettingsError",
  "TlsError"
])
const fatalErrors = new Set([
  "StreamFatalError",
  "RedirectRejected",
  "AuthError",
  "EnableError",
  "NetworkRejected"
])

/**
 * The exit code for how the program ended.
 *
 * @since 0.1.0
 */
export const exitCode = (exit: Exit.Exit<unknown, unknown>): number => {
  if (Exit.isSuccess(exit)) return 0
  if (Cause.hasInterruptsOnly(exit.cause)) return 0
  const error = Cause.squash(exit.cause) as {
    readonly _tag?: string
    readonly errors?: ReadonlyArray<unknown>
  }
  const tag = error?._tag ?? ""
  // `--help` is a ShowHelp without errors; a bad flag is a ShowHelp carrying them.
  if (tag === "ShowHelp") return (error.errors?.length ?? 0) > 0 ? 2 : 0
  if (tag === "StdoutClosed") return 0
  if (usageErrors.has(tag) || CliError.isCliError(error)) return 2
  if (fatalErrors.has(tag)) return 3
  return 1
}

const messageOf = (exit: Exit.Exit<unknown, unknown>): string | undefined => {
  if (Exit.isSuccess(exit) || Cause.hasInterruptsOnly(exit.cause)) return undefined
  const error = Cause.squash(exit.cause) as { readonly _tag?: string; readonly message?: string }
  // The presenter below has already printed usage errors; a closed stdout is no error.
  if (CliError.isCliError(error) || error?._tag === "StdoutClosed") return undefined
  // A message may quote a URL a person or a server gave, credentials and all.
  return RedactedUrl.redactText(error?.message ?? String(error))
}

/**
 * How the CLI module's output reads: `--help` as usual; a usage error as the error and one
 * line pointing to the help, not the whole help page.
 *
 * @since 0.1.0
 */
export const presenter: CliOutput.Presenter = {
  present: (event) => {
    switch (event._tag) {
      case "InvalidInvocation": {
        const messages = event.errors.map((e) => `hitstream: ${RedactedUrl.redactText(e.message)}`)
        return Console.error(`${messages.join("\n")}\nsee: ${event.commandPath.join(" ")} --help`)
      }
      case "Help":
        return Console.log(CliOutput.defaultFormatter({ colors: false }).formatHelpDoc(event.helpDoc))
      case "Version":
        return Console.log(
          CliOutput.defaultFormatter({ colors: false }).formatVersion(event.name, event.version)
        )
    }
  }
}

// `--log-level` is a setting of ours (flag, variable, file); the built-in one would list it twice.
const cliConfig = CliConfig.layer({ builtIns: [GlobalFlag.Help, GlobalFlag.Version, GlobalFlag.Completions] })

/**
 * Runs `hitstream` with the process's arguments and exits with the code above.
 *
 * @since 0.1.0
 */
export const main = (argv: ReadonlyArray<string> = process.argv.slice(2)) => {
  const shutdown = Effect.runSync(Shutdown.make)
  const program = Command.runWith(Commands.make(shutdown), { version })(argv).pipe(
    Effect.provideService(Shutdown, shutdown),
    Effect.provide([LazyNodeServices.layer, cliConfig, CliOutput.layerPresenter(presenter)])
  )
  const fiber = Effect.runFork(program)
  let signals = 0
  const onSignal = (signal: NodeJS.Signals) => {
    signals++
    if (signals > 1 && signal === "SIGINT") process.exit(130)
    Effect.runFork(shutdown.request("signal"))
  }
  process.on("SIGINT", onSignal)
  process.on("SIGTERM", onSignal)
  fiber.addObserver((exit) => {
    const message = messageOf(exit)
    if (message !== undefined) process.stderr.write(`hitstream: ${message}\n`)
    process.exit(exitCode(exit))
  })
}
