// The same program against a Live Stream simulator started in this process, on a free port.
import { NodeRuntime } from "@effect/platform-node"
import { NodeLiveStream } from "@hitstream/client"
import { Simulator } from "@hitstream/simulator"
import { Effect, Layer } from "effect"
import { program } from "./CustomMetrics.ts"

const simulatedLiveStream = Layer.unwrap(
  Effect.gen(function* () {
    const sim = yield* Simulator.Simulator
    return NodeLiveStream.layer({
      url: sim.streamUrl(),
      tokenUrl: sim.tokenUrl(),
      clientId: sim.clientId,
      clientSecret: sim.clientSecret
    })
  })
).pipe(Layer.provide(Simulator.layer({ rate: 200 })))

program.pipe(Effect.provide(simulatedLiveStream), NodeRuntime.runMain)
