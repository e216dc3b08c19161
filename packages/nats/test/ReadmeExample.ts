// The README's example, type-checked by `tsc -b` (not run: it needs a stream and a server).
import { LiveStream, NodeLiveStream } from "@hitstream/client"
import { Effect, Layer, Stream } from "effect"
import { JetStreamSink, NatsClient } from "../src/index.ts"

const nats = Layer.unwrap(
  Effect.map(NatsClient.parseUrl("sink", "nats://127.0.0.1:4222"), (url) =>
    NatsClient.layer({ url, credentials: { _tag: "None" } })
  )
)
const program = Effect.gen(function* () {
  const sink = yield* JetStreamSink.make({ ...JetStreamSink.defaults, stream: "HITS" })
  yield* (yield* LiveStream.LiveStream).hits.pipe(Stream.run(sink.sink))
})
export const readmeExample = program.pipe(Effect.scoped, Effect.provide([NodeLiveStream.layerFromEnv, nats]))
