/**
 * The process around the commands: signals and exit codes.
 *
 * Exit codes: 0 finished (limit, duration, or SIGINT/SIGTERM after draining); 2 usage or
 * configuration error (the message names the option, the value and the valid range); 3 fatal
 * API or auth error (the message says what to fix); 1 anything unexpected. The first SIGINT or
 * SIGTERM drains: connections close, every hit already received is written, the sink is
 * flushed. A second SIGINT exits at once.
 *
 * @since 0.1.0
 */
import { NodeServices } from "@effect/platform-node"
import { Cause, Deferred, Effect, Exit } from "effect"
import { CliError, Command } from "effect/cli"
import * as Commands from "./Commands.ts"
import { version } from "./version.ts"

const usageErrors = new Set([
  "SettingsError",
  "ConfigError",
  "ScenarioFileError",
  "SimulatorStartError",
  "InvalidPolicyOption"
])
const fatalErrors = new Set(["StreamFatalError", "RedirectRejected", "AuthError", "EnableError"])

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
  if (usageErrors.has(tag) || CliError.isCliError(error)) return 2
  if (fatalErrors.has(tag)) return 3
  return 1
}

const messageOf = (exit: Exit.Exit<unknown, unknown>): string | undefined => {
  if (Exit.isSuccess(exit) || Cause.hasInterruptsOnly(exit.cause)) return undefined
  const error = Cause.squash(exit.cause) as { readonly message?: string }
  // The CLI module has already printed its own usage errors, with the help text.
  if (CliError.isCliError(error)) return undefined
  return error?.message ?? String(error)
}

/**
 * Runs `hitstream` with the process's arguments and exits with the code above.
 *
 * @since 0.1.0
 */
export const main = (argv: ReadonlyArray<string> = process.argv.slice(2)) => {
  const program = Command.runWith(Commands.hitstream, { version })(argv).pipe(
    Effect.provide(NodeServices.layer)
  )
  const fiber = Effect.runFork(program)
  let signals = 0
  const onSignal = (signal: NodeJS.Signals) => {
    signals++
    if (signals > 1 && signal === "SIGINT") process.exit(130)
    Effect.runSync(Deferred.succeed(Commands.shutdown, undefined))
  }
  process.on("SIGINT", onSignal)
  process.on("SIGTERM", onSignal)
  fiber.addObserver((exit) => {
    const message = messageOf(exit)
    if (message !== undefined) process.stderr.write(`hitstream: ${message}\n`)
    process.exit(exitCode(exit))
  })
}
