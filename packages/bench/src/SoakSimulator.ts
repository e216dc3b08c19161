/**
 * The soak's simulator, in a process of its own so that the client's RSS is the client's alone:
 * `node src/SoakSimulator.ts '{"rate":3000,"totalHits":1800000,"seed":7}'` prints the client's
 * settings as JSON on stdout, then serves hits at `rate` per second until `totalHits`.
 *
 * @since 0.1.0
 */
import { NodeRuntime } from "@effect/platform-node"
import { Simulator } from "@hitstream/simulator"
import { Effect } from "effect"

const options = JSON.parse(process.argv[2] ?? "{}") as {
  readonly rate: number
  readonly totalHits: number
  readonly seed: number
}

NodeRuntime.runMain(
  Effect.gen(function* () {
    const sim = yield* Simulator.Simulator
    process.stdout.write(
      `${JSON.stringify({
        baseUrl: sim.baseUrl,
        url: sim.streamUrl(),
        tokenUrl: sim.tokenUrl(),
        clientId: sim.clientId,
        clientSecret: sim.clientSecret
      })}\n`
    )
    return yield* Effect.never
  }).pipe(
    Effect.provide(
      Simulator.layer({
        rate: options.rate,
        totalHits: options.totalHits,
        seed: options.seed,
        // As the vendor: a reconnect within the window resumes where the last one stopped and
        // re-sends a few hits, which the client must drop.
        backfillDuplicates: 5,
        recordSent: false
      })
    )
  )
)
