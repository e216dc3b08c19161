// The example of packages/dashboard/README.md, run against the simulator: the documentation's
// code must work.
import { assert, describe, it } from "@effect/vitest"
import { LiveStream, NodeLiveStream } from "@hitstream/client"
import { Simulator } from "@hitstream/simulator"
import { Effect, Logger, Stream } from "effect"
import { Dashboard } from "../src/index.ts"

// --- README example, verbatim but for `take`, port 0 and the returned summary --------------------
const program = Effect.gen(function* () {
  const live = yield* LiveStream.LiveStream
  yield* Effect.log(`dashboard on ${(yield* Dashboard.Dashboard).url}`)
  yield* live.hits.pipe(
    Dashboard.track,
    Stream.take(500),
    Stream.runForEach((hit) => Effect.log(hit.pageName))
  )
  return yield* (yield* Dashboard.Dashboard).summary("snapshot")
})

const main = program.pipe(
  Effect.provide(Dashboard.layer({ port: 0 })), // 127.0.0.1 unless `host` says otherwise
  Effect.provide(NodeLiveStream.layerFromEnv) // HITSTREAM_URL, HITSTREAM_CLIENT_ID, ...
)
// -------------------------------------------------------------------------------------------------

describe("packages/dashboard/README.md", () => {
  it.live("the example mounts the dashboard beside the stream and counts its hits", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.Simulator
      Object.assign(process.env, {
        HITSTREAM_URL: sim.streamUrl(),
        HITSTREAM_TOKEN_URL: sim.tokenUrl(),
        HITSTREAM_CLIENT_ID: sim.clientId,
        HITSTREAM_CLIENT_SECRET: sim.clientSecret
      })
      // Quiet: the example logs every page name.
      const summary = yield* main.pipe(Effect.provide(Logger.layer([])))
      assert.strictEqual(summary.top.total, 500)
      assert.strictEqual(summary.slots.length, 1)
    }).pipe(Effect.provide(Simulator.layer({ rate: Number.POSITIVE_INFINITY, totalHits: 500 })))
  )
})
