import { Effect } from "effect"
import { NodeRuntime } from "@effect/platform-node"
import { Simulator } from "./src/index.ts"
NodeRuntime.runMain(
  Effect.gen(function* () {
    const sim = yield* Simulator.Simulator
    console.log(sim.streamUrl())
    yield* Effect.never
  }).pipe(
    Effect.provide(
      Simulator.Simulator.layer({ port: 18090, rate: Infinity, recordSent: false, gracePeriod: 0 })
    )
  )
)
