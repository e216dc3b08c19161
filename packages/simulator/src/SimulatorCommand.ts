/**
 * `simulate`: the simulator alone, for trying a client (ours or anyone's) without Adobe
 * credentials. Prints the URLs and credentials a client needs, then serves until stopped.
 *
 * Shared by `npm run simulate -w @hitstream/simulator` and `hitstream simulate`.
 *
 * @since 0.1.0
 */
import { Console, Effect, Option, Schema, type Scope } from "effect"
import { Command, Flag } from "effect/cli"
import { FileSystem } from "effect"
import * as Scenario from "./Scenario.ts"
// Types only: Tls loads the child-process and file-system layers (openssl), which `hitstream
// --help` and `--version` must not pay for; `tlsOf` imports it when TLS is asked for.
import type * as Tls from "./Tls.ts"

const rate = Flag.String("rate").pipe(
  Flag.withDescription("hits generated per second, or 'max' for as fast as the client reads (default 200)"),
  Flag.withDefault("200")
)

const parseRate = (value: string) =>
  value === "max"
    ? Effect.succeed(Number.POSITIVE_INFINITY)
    : Number.isFinite(Number(value)) && Number(value) >= 0
      ? Effect.succeed(Number(value))
      : Effect.fail(
          new ScenarioFileError({
            message: `--rate is ${JSON.stringify(value)}; it must be a number of hits per second (0 or more) or 'max'`
          })
        )

/**
 * A scenario file that cannot be read or is not a scenario.
 *
 * @since 0.1.0
 */
export class ScenarioFileError extends Schema.TaggedError<ScenarioFileError>()("ScenarioFileError", {
  message: Schema.String
}) {}

/**
 * Parses a scenario file: JSON, or YAML through the parser given (the CLI passes one; JSON needs none).
 *
 * @since 0.1.0
 */
export const readScenario = (path: string, parseYaml?: (text: string) => unknown) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const text = yield* fs
      .readFileString(path)
      .pipe(
        Effect.mapError(
          (e) => new ScenarioFileError({ message: `cannot read the scenario file ${path}: ${e.message}` })
        )
      )
    const value = yield* Effect.try({
      try: () => (/\.ya?ml$/i.test(path) && parseYaml ? parseYaml(text) : JSON.parse(text)),
      catch: (e) =>
        new ScenarioFileError({
          message: `the scenario file ${path} is not valid ${/\.ya?ml$/i.test(path) ? "YAML" : "JSON"}: ${String(e)}`
        })
    })
    return yield* Scenario.decode(value).pipe(
      Effect.mapError(
        (e) => new ScenarioFileError({ message: `the scenario file ${path} is not a scenario: ${e.message}` })
      )
    )
  })

/**
 * The listeners' TLS from the flags: a pair given, a fresh CA and certificate (`--tls`, whose CA
 * file lives as long as the command's scope), or none.
 *
 * @since 0.1.0
 */
export const tlsOf = (flags: {
  readonly tls: boolean
  readonly tlsCert: Option.Option<string>
  readonly tlsKey: Option.Option<string>
}): Effect.Effect<
  { readonly credentials: Tls.Credentials; readonly caFile: string | undefined } | undefined,
  Tls.TlsError,
  Scope.Scope
> =>
  Effect.gen(function* () {
    if (!flags.tls && Option.isNone(flags.tlsCert) && Option.isNone(flags.tlsKey)) return undefined
    const Tls = yield* Effect.promise(() => import("./Tls.ts"))
    if (Option.isSome(flags.tlsCert) !== Option.isSome(flags.tlsKey)) {
      return yield* new Tls.TlsError({
        message: `${Option.isSome(flags.tlsCert) ? "--tls-cert needs --tls-key" : "--tls-key needs --tls-cert"}: give the certificate and its private key together`
      })
    }
    if (Option.isSome(flags.tlsCert) && Option.isSome(flags.tlsKey)) {
      return { credentials: yield* Tls.readPair(flags.tlsCert.value, flags.tlsKey.value), caFile: undefined }
    }
    if (!flags.tls) return undefined
    const generated = yield* Tls.generate()
    return { credentials: generated, caFile: generated.caFile }
  })

/**
 * Builds the `simulate` command; `parseYaml` enables YAML scenario files, and the simulator
 * serves until `until` completes (a program's shutdown signal), or forever.
 *
 * @since 0.1.0
 */
export const make = (parseYaml?: (text: string) => unknown, until: Effect.Effect<void> = Effect.never) =>
  Command.make(
    "simulate",
    {
      port: Flag.Int("port").pipe(
        Flag.withDescription("port of the main listener (0: any free port)"),
        Flag.withDefault(8080)
      ),
      host: Flag.String("host").pipe(
        Flag.withDescription("address to listen on"),
        Flag.withDefault("127.0.0.1")
      ),
      rate,
      totalHits: Flag.Int("total-hits").pipe(
        Flag.withDescription("stop generating after this many hits"),
        Flag.optional
      ),
      seed: Flag.Int("seed").pipe(
        Flag.withDescription("seed of the deterministic hit generator"),
        Flag.withDefault(1)
      ),
      scenario: Flag.String("scenario").pipe(
        Flag.withDescription(
          "a JSON or YAML file of scripted steps per connection attempt (see docs/simulator.md)"
        ),
        Flag.optional
      ),
      clientId: Flag.String("client-id").pipe(
        Flag.withDescription("the client id to accept"),
        Flag.withDefault("hitstream-demo")
      ),
      gracePeriod: Flag.Int("grace-period-ms").pipe(
        Flag.withDescription(
          "the session timeout: how long a dropped connection stays in the group, holding its partitions and counting against maxConnections"
        ),
        Flag.withDefault(30_000)
      ),
      redirect: Flag.Literals("redirect", ["never", "first", "always"]).pipe(
        Flag.withDescription("answer stream requests with 302 to the second listener"),
        Flag.withDefault("never")
      ),
      tls: Flag.Boolean("tls").pipe(
        Flag.withDescription(
          "serve HTTPS (stream, IMS and redirect listener) with a fresh CA and a certificate for localhost, 127.0.0.1 and ::1; prints the CA file for clients' --ca-file"
        ),
        Flag.withDefault(false)
      ),
      tlsCert: Flag.String("tls-cert").pipe(
        Flag.withDescription("serve HTTPS with this certificate (PEM, chain included); needs --tls-key"),
        Flag.optional
      ),
      tlsKey: Flag.String("tls-key").pipe(
        Flag.withDescription("the private key (PEM) of --tls-cert"),
        Flag.optional
      )
    },
    Effect.fnUntraced(function* (flags) {
      // The server loads only when the command runs: parsing a program's command line (its
      // `--help`, `--version`) should not load an HTTP server.
      const Simulator = yield* Effect.promise(() => import("./Simulator.ts"))
      const script = Option.isSome(flags.scenario) ? yield* readScenario(flags.scenario.value, parseYaml) : {}
      const steps = script.steps ?? []
      const imsSteps = script.ims ?? []
      const clientSecret = process.env.HITSTREAM_SIMULATOR_SECRET ?? "demo-secret"
      const tls = yield* tlsOf(flags)
      const options = {
        host: flags.host,
        port: flags.port,
        rate: yield* parseRate(flags.rate),
        seed: flags.seed,
        scenario: steps,
        imsScenario: imsSteps,
        clientId: flags.clientId,
        clientSecret,
        gracePeriod: flags.gracePeriod,
        redirect: flags.redirect,
        // Ground truth is kept as ranges per partition: cheap enough to serve /_sim/sent always.
        recordSent: true,
        tls: tls?.credentials,
        ...(Option.isSome(flags.totalHits) ? { totalHits: flags.totalHits.value } : {})
      }
      yield* Effect.gen(function* () {
        const sim = yield* Simulator.Simulator
        yield* Console.error(
          [
            `Live Stream simulator listening on ${sim.baseUrl} (${flags.rate} hits/s${steps.length > 0 ? `, ${steps.length} scripted steps` : ""}${imsSteps.length > 0 ? `, ${imsSteps.length} scripted token answers` : ""})`,
            ``,
            `  export HITSTREAM_URL=${sim.streamUrl()}`,
            `  export HITSTREAM_TOKEN_URL=${sim.tokenUrl()}`,
            `  export HITSTREAM_CLIENT_ID=${sim.clientId}`,
            `  export HITSTREAM_CLIENT_SECRET=${clientSecret === "demo-secret" ? "demo-secret" : "<the value of HITSTREAM_SIMULATOR_SECRET>"}`,
            ...(tls?.caFile === undefined
              ? []
              : [
                  `  export HITSTREAM_CA_FILE=${tls.caFile}`,
                  ``,
                  `TLS: the certificate is signed by a CA made for this run, ${tls.caFile} (removed on exit); clients trust it with --ca-file or HITSTREAM_CA_FILE`
                ]),
            ``,
            `Control API: ${sim.baseUrl}/_sim/log, /_sim/sent, /_sim/assignments, /_sim/status, /_sim/ims, /_sim/drop, /_sim/revoke`,
            `Ctrl-C stops it.`
          ].join("\n")
        )
        yield* until
      }).pipe(Effect.provide(Simulator.layer(options)))
    }, Effect.scoped)
  ).pipe(
    Command.withDescription(
      "Run the Live Stream simulator alone: a real HTTP/1.1 server on loopback that behaves like Adobe's (IMS tokens, gzip + CRLF stream, 401/409/424/503, redirects, backfill, scripted faults)"
    )
  )
