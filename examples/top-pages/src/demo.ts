// The same program against a Live Stream simulator started in this process, on a free port.
import { NodeRuntime } from "@effect/platform-node"
import { NodeLiveStream } from "@hitstream/client"
import { Simulator } from "@hitstream/simulator"
import { Effect, Layer } from "effect"
import { program } from "./TopPages.ts"

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
).pipe(Layer.provide(Simulator.layer({ rate: 500 })))

// A 10-second window here, so that the first table comes soon.
program("10 seconds").pipe(Effect.provide(simulatedLiveStream), NodeRuntime.runMain)
