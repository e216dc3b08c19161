/**
 * The request to stop: completed by the first SIGINT or SIGTERM (or by a closed stdout), awaited
 * by the running command, which then drains and exits.
 *
 * @since 0.1.0
 */
import { Context, Deferred, Effect, Layer } from "effect"

/**
 * Why the program is stopping.
 *
 * @since 0.1.0
 */
export type Reason = "signal" | "stdout closed"

/**
 * @since 0.1.0
 */
export class Shutdown extends Context.Service<
  Shutdown,
  {
    /** Asks the program to stop; the first reason wins. */
    readonly request: (reason: Reason) => Effect.Effect<void>
    /** Completes with the reason once a stop was requested. */
    readonly requested: Effect.Effect<Reason>
    /** The reason, if a stop was requested already. */
    readonly poll: Effect.Effect<Reason | undefined>
  }
>()("@hitstream/cli/Shutdown") {
  /** A fresh request, for one run of the program. */
  static readonly make = Effect.map(Deferred.make<Reason>(), (deferred) => {
    let first: Reason | undefined
    return Shutdown.of({
      request: (reason) =>
        Effect.suspend(() => {
          first ??= reason
          return Effect.asVoid(Deferred.succeed(deferred, first))
        }),
      requested: Deferred.await(deferred),
      poll: Effect.sync(() => first)
    })
  })

  /** @since 0.1.0 */
  static readonly layer: Layer.Layer<Shutdown> = Layer.effect(Shutdown, Shutdown.make)
}
