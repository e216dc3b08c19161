// The forwarder against a Live Stream simulator and a small receiving endpoint, both started in
// this process on free loopback ports. The receiver answers 503 to one request in five, so that
// the retries show in the log.
import { NodeHttpClient, NodeHttpServer, NodeRuntime } from "@effect/platform-node"
import { NodeLiveStream } from "@hitstream/client"
import { Simulator } from "@hitstream/simulator"
import { Effect, Layer, Redacted } from "effect"
import { HttpRouter, HttpServer, HttpServerRequest, HttpServerResponse } from "effect/http"
import { createServer } from "node:http"
import { forward } from "./Forwarder.ts"

let requests = 0
let received = 0

const receiver = HttpRouter.serve(
  HttpRouter.add(
    "POST",
    "/hits",
    Effect.gen(function* () {
      if (++requests % 5 === 0) return HttpServerResponse.empty({ status: 503 })
      const hits = (yield* (yield* HttpServerRequest.HttpServerRequest).json) as Array<unknown>
      received += hits.length
      yield* Effect.log(`receiver: a batch of ${hits.length} hits, ${received} in all`)
      return HttpServerResponse.empty({ status: 204 })
    })
  ),
  { disableLogger: true, disableListenLog: true }
).pipe(Layer.provideMerge(NodeHttpServer.layer(createServer, { port: 0, host: "127.0.0.1" })))

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

Effect.gen(function* () {
  const url = `${HttpServer.formatAddress((yield* HttpServer.HttpServer).address)}/hits`
  yield* Effect.log(`forwarding to ${url}`)
  yield* forward({ url: Redacted.make(url), batchSize: 200, flushAfter: "1 second" })
}).pipe(Effect.provide([simulatedLiveStream, receiver, NodeHttpClient.layerUndici]), NodeRuntime.runMain)
