// Runs the real client against the real simulator on loopback, with the dashboard mounted.
import { LiveStream, NodeLiveStream } from "@hitstream/client"
import { Hit } from "@hitstream/core"
import { HitGenerator, Simulator } from "@hitstream/simulator"
import { Effect, type Scope, Stream } from "effect"
import { Dashboard } from "../src/index.ts"

export type Sim = Simulator.Simulator["Service"]

/**
 * Starts the simulator, the client reading it (its hits counted by the dashboard) and the
 * dashboard, then runs `f`.
 */
export const withDashboard = <A, E>(
  simOptions: Partial<Simulator.Options>,
  clientOptions: Record<string, unknown>,
  dashboardOptions: Dashboard.Options,
  f: (sim: Sim, dashboard: Dashboard.Dashboard["Service"]) => Effect.Effect<A, E, Scope.Scope>
) =>
  Effect.gen(function* () {
    const sim = yield* Simulator.Simulator
    return yield* Effect.gen(function* () {
      const live = yield* LiveStream.LiveStream
      const dashboard = yield* Dashboard.Dashboard
      yield* live.hits.pipe(Dashboard.track, Stream.runDrain, Effect.forkScoped)
      return yield* f(sim, dashboard)
    }).pipe(
      Effect.scoped,
      Effect.provide(Dashboard.layer(dashboardOptions)),
      Effect.provide(
        NodeLiveStream.layer({
          url: sim.streamUrl(),
          clientId: sim.clientId,
          clientSecret: sim.clientSecret,
          tokenUrl: sim.tokenUrl(),
          ...clientOptions
        })
      )
    )
  }).pipe(Effect.provide(Simulator.layer({ gracePeriod: 200, recordSent: true, ...simOptions })))

/** The simulator's ground truth: page name counts of every distinct hit it sent. */
export const sentPages = (sim: Sim) =>
  Effect.map(sim.sent, (sent) => {
    const counts = new Map<string, number>()
    for (const { index } of sent) {
      const hit = Hit.parse(HitGenerator.generate(sim.options.seed, index, 0).text)
      if (Hit.isMalformed(hit)) throw new Error(`the generator made a malformed hit: ${hit.message}`)
      const page = String(hit.pageName)
      counts.set(page, (counts.get(page) ?? 0) + 1)
    }
    return { total: sent.length, counts }
  })

/** Polls `check` every 100 ms until it holds, at most `millis`. */
export const eventually = <A>(what: string, millis: number, check: () => Promise<A | undefined>) =>
  Effect.promise(async () => {
    const deadline = performance.now() + millis
    let last: unknown
    while (performance.now() < deadline) {
      try {
        const value = await check()
        if (value !== undefined && value !== false) return value
      } catch (error) {
        last = error
      }
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    throw new Error(
      `timed out after ${millis} ms waiting for ${what}${last === undefined ? "" : `: ${String(last)}`}`
    )
  })
