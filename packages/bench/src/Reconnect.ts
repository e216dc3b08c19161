/**
 * The reconnect-cost figures: CPU and heap per cycle of token, connect and first hit, both clients
 * with a cached token.
 *
 * @since 0.1.0
 */
import { Connection } from "@hitstream/client"
import { Framing } from "@hitstream/core"
import { Effect, ManagedRuntime, Stream } from "effect"
import { clientLayer, naiveClient, startSimulator, token } from "./Loopback.ts"
import { now } from "./Measure.ts"
import type { Sizes } from "./Sizes.ts"
import type { Row } from "./Stats.ts"

/**
 * @since 0.1.0
 */
export const reconnect = async (sizes: Sizes, log: (s: string) => void): Promise<Array<Row>> => {
  const sim = await startSimulator(1_000)
  try {
    const runtime = ManagedRuntime.make(await Effect.runPromise(clientLayer(sim)))
    const accessToken = await token(sim)
    const measure = async (cycle: () => Promise<unknown>) => {
      await cycle()
      const cpu = process.cpuUsage()
      const heap = process.memoryUsage().heapUsed
      const start = now()
      for (let i = 0; i < sizes.reconnectCycles; i++) await cycle()
      const used = process.cpuUsage(cpu)
      return {
        cpu: (used.user + used.system) / 1000 / sizes.reconnectCycles,
        wall: (now() - start) / sizes.reconnectCycles,
        heap: (process.memoryUsage().heapUsed - heap) / 1024 / sizes.reconnectCycles
      }
    }
    const hitstream = await measure(() =>
      runtime.runPromise(
        Effect.gen(function* () {
          const connection = yield* Connection.Connection
          const body = yield* connection.open(0)
          yield* body.bytes.pipe(Framing.decode, Stream.take(1), Stream.runDrain)
        }).pipe(Effect.scoped)
      )
    )
    const naive = await measure(() => naiveClient(sim, 1, undefined, accessToken))
    await runtime.dispose()
    log("reconnect: done")
    return [
      {
        figure: "reconnect cycle CPU (token + connect + first hit)",
        unit: "ms",
        hitstream: [hitstream.cpu],
        baseline: [naive.cpu],
        better: "lower",
        note: `informational; ${sizes.reconnectCycles} cycles, not counting the policy's wait, both with a cached token; wall ${hitstream.wall.toFixed(1)} vs ${naive.wall.toFixed(1)} ms`
      },
      {
        figure: "reconnect cycle heap delta",
        unit: "KB",
        hitstream: [hitstream.heap],
        baseline: [naive.heap],
        better: "none",
        note: "informational; heap growth per cycle, garbage included"
      }
    ]
  } finally {
    sim.stop()
  }
}
