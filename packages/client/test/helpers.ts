// Runs the real client against the real simulator on loopback.
import { Config } from "@hitstream/core"
import { Simulator } from "@hitstream/simulator"
import { Effect, Layer } from "effect"
import { ConnectionJournal, LiveStream, LiveStreamConfig, NodeLiveStream } from "../src/index.ts"

export type Sim = Simulator.Simulator["Service"]

/** Client options fast enough for tests: the spacing rule scaled down, the rest as shipped. */
export const fastPolicy = {
  minReconnectDelay: "400ms",
  maxReconnectDelay: "600ms",
  healthyAfter: "1m"
} as const

export const clientConfig = (sim: Sim, overrides: Record<string, unknown> = {}) =>
  Config.decode({
    url: sim.streamUrl(),
    clientId: sim.clientId,
    clientSecret: sim.clientSecret,
    tokenUrl: sim.tokenUrl(),
    ...fastPolicy,
    ...overrides
  })

/** Starts a simulator, then the client configured against it, and runs `f` with both. */
export const withClient = <A, E>(
  simOptions: Partial<Simulator.Options>,
  overrides: Record<string, unknown> | ((sim: Sim) => Record<string, unknown>),
  f: (
    sim: Sim
  ) => Effect.Effect<
    A,
    E,
    | LiveStream.LiveStream
    | import("../src/Connection.ts").Connection
    | import("../src/TokenProvider.ts").TokenProvider
  >,
  journal: Layer.Layer<ConnectionJournal.ConnectionJournal> = ConnectionJournal.layerMemory
) =>
  Effect.gen(function* () {
    const sim = yield* Simulator.Simulator
    const config = yield* clientConfig(sim, typeof overrides === "function" ? overrides(sim) : overrides)
    return yield* f(sim).pipe(
      Effect.provide(NodeLiveStream.layerParts(LiveStreamConfig.layerValue(config), journal))
    )
  }).pipe(Effect.provide(Simulator.layer({ gracePeriod: 200, ...simOptions })))

/** Gaps between the end of each attempt and the start of the next, per partition slot. */
export const gaps = (log: ReadonlyArray<Simulator.Attempt>) => {
  const out: Array<number> = []
  for (let i = 1; i < log.length; i++) {
    const previous = log[i - 1]
    if (previous.endedAt !== undefined) out.push(log[i].at - previous.endedAt)
  }
  return out
}
