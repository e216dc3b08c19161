/**
 * The simulator in a process of its own, so that the client under test has a core to itself:
 * `node src/SimulatorProcess.ts TOTAL_HITS` prints its base URL on stdout, then serves.
 *
 * @since 0.1.0
 */
import { NodeRuntime } from "@effect/platform-node"
import { Simulator } from "@hitstream/simulator"
import { Effect } from "effect"

const totalHits = Number(process.argv[2] ?? 100_000)

NodeRuntime.runMain(
  Effect.gen(function* () {
    const sim = yield* Simulator.Simulator
    process.stdout.write(
      `${JSON.stringify({ url: sim.streamUrl(), tokenUrl: sim.tokenUrl(), clientId: sim.clientId, clientSecret: sim.clientSecret })}\n`
    )
    return yield* Effect.never
  }).pipe(
    Effect.provide(
      Simulator.layer({
        rate: Number.POSITIVE_INFINITY,
        totalHits,
        preload: true,
        recordSent: false,
        gracePeriod: 0,
        gzipLevel: 6
      })
    )
  )
)
