// The example of docs/client.md, run against the simulator: the documentation's code must work.
import { assert, describe, expectTypeOf, it } from "@effect/vitest"
import type { Config } from "@hitstream/core"
import { Simulator } from "@hitstream/simulator"
import { Effect, Stream } from "effect"
import { LiveStream, type Network, NodeLiveStream } from "../src/index.ts"

// --- docs/client.md example, verbatim but for `take` and the returned pages ----------------------
const program = Effect.gen(function* () {
  const live = yield* LiveStream.LiveStream
  const pages: Array<string> = []
  yield* live.hits.pipe(
    Stream.take(100),
    Stream.runForEach((hit) => Effect.sync(() => pages.push(`${hit.pageName} ${hit.hitIdHigh}`)))
  )
  return pages
})
const main = program.pipe(Effect.provide(NodeLiveStream.layerFromEnv))
// -------------------------------------------------------------------------------------------------

describe("docs/client.md", () => {
  it("the example's error channel is the documented errors, with no cast, and it needs nothing", () => {
    expectTypeOf(main).toEqualTypeOf<
      Effect.Effect<
        Array<string>,
        LiveStream.LiveStreamError | Config.ConfigError | Network.NetworkSettingsError,
        never
      >
    >()
  })

  it.live("the example streams hits with the HITSTREAM_* configuration", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.Simulator
      Object.assign(process.env, {
        HITSTREAM_URL: sim.streamUrl(),
        HITSTREAM_TOKEN_URL: sim.tokenUrl(),
        HITSTREAM_CLIENT_ID: sim.clientId,
        HITSTREAM_CLIENT_SECRET: sim.clientSecret
      })
      const pages = yield* main
      assert.strictEqual(pages.length, 100)
      assert.match(pages[0], /^Page #\d+ .+ \d{19,20}$/)
    }).pipe(Effect.provide(Simulator.layer({ rate: Number.POSITIVE_INFINITY, totalHits: 100 })))
  )
})
