/**
 * The live dashboard in the `hitstream` program: `run --dashboard-port P` serves it on
 * `--dashboard-host` (default 127.0.0.1); `demo` serves it by default. The page itself, its
 * windows and its event stream are `@hitstream/dashboard`; this module only wires it: it binds
 * while the program's layers are built (a port in use stops the start with exit 2, naming the
 * flag), and counts the hits the program writes.
 *
 * @since 0.1.0
 */
import type { Hit } from "@hitstream/core"
import { Dashboard } from "@hitstream/dashboard"
import { Effect, Layer } from "effect"
import { describeListenError } from "./MetricsServer.ts"
import { SettingsError } from "./Settings.ts"

/**
 * @since 0.1.0
 */
export interface Options {
  readonly port: number
  readonly host: string
}

/**
 * The dashboard for `run`: listens on the given port and host, or fails with a settings error
 * that names `--dashboard-port` and why.
 *
 * @since 0.1.0
 */
export const layer = (options: Options) =>
  Dashboard.layer(options).pipe(
    Layer.catchTag("ServeError", (e) =>
      Layer.effect(
        Dashboard.Dashboard,
        Effect.fail(
          new SettingsError({
            field: "dashboardPort",
            message: `--dashboard-port ${options.port}${options.host === "127.0.0.1" ? "" : ` on --dashboard-host ${options.host}`}: ${describeListenError(e.cause)}`
          })
        )
      )
    )
  )

/**
 * The port `demo` tries first, so that its address stays the same from one run to the next.
 *
 * @since 0.1.0
 */
export const demoPort = 8765

/**
 * The dashboard for `demo`: on `demoPort` when it is free, on any free port otherwise. It serves
 * before the stream exists, so that its address is the demo's first line; `attached` shows the
 * stream on it.
 *
 * @since 0.1.0
 */
export const layerForDemo = (port: number = demoPort) =>
  Dashboard.layerServer({ port }).pipe(Layer.catchTag("ServeError", () => Dashboard.layerServer({ port: 0 })))

/**
 * Runs `self` with the `LiveStream` it uses shown on the dashboard.
 *
 * @since 0.1.0
 */
export const attached = <A, E, R>(self: Effect.Effect<A, E, R>) =>
  Effect.scoped(Effect.andThen(Dashboard.attach, self))

/**
 * Counts hits the program has written into the dashboard's windows.
 *
 * @since 0.1.0
 */
export const record = (hits: ReadonlyArray<Hit.Hit>) => Dashboard.Dashboard.use((d) => d.record(hits))

/**
 * The dashboard's address, for the program to print.
 *
 * @since 0.1.0
 */
export const url = Dashboard.Dashboard.useSync((d) => d.url)

/**
 * Serves the dashboard around `self` when `run` was given `--dashboard-port`, and logs its
 * address; otherwise runs `self` as is.
 *
 * @since 0.1.0
 */
export const provideForRun =
  (options: { readonly port: number | undefined; readonly host: string }) =>
  <A, E, R>(self: Effect.Effect<A, E, R>) =>
    options.port === undefined
      ? self
      : Effect.gen(function* () {
          yield* Effect.logInfo(`dashboard on ${yield* url}`)
          return yield* self
        }).pipe(Effect.provide(layer({ port: options.port, host: options.host })))

/**
 * Counts hits into the dashboard when one is served; nothing otherwise.
 *
 * @since 0.1.0
 */
export const recordIfServed = (hits: ReadonlyArray<Hit.Hit>): Effect.Effect<void> =>
  Effect.flatMap(Effect.serviceOption(Dashboard.Dashboard), (d) =>
    d._tag === "Some" ? d.value.record(hits) : Effect.void
  )
