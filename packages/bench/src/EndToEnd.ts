/**
 * The end-to-end figures over loopback: both clients against one simulator process, counting hits
 * and writing them to a file.
 *
 * @since 0.1.0
 */
import { Sink } from "@hitstream/cli"
import { Effect, Scope } from "effect"
import { createWriteStream, mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { hitstreamClient, naiveClient, startSimulator } from "./Loopback.ts"
import { time } from "./Measure.ts"
import type { Sizes } from "./Sizes.ts"
import type { Row } from "./Stats.ts"

/**
 * @since 0.1.0
 */
export const endToEnd = async (sizes: Sizes, log: (s: string) => void): Promise<Array<Row>> => {
  const sim = await startSimulator(sizes.e2eHits)
  const dir = mkdtempSync(join(tmpdir(), "hitstream-bench-"))
  try {
    const count = { h: [] as Array<number>, b: [] as Array<number> }
    const file = { h: [] as Array<number>, b: [] as Array<number> }
    for (let r = 0; r < sizes.rounds; r++) {
      count.b.push(await time(() => naiveClient(sim, sizes.e2eHits)))
      count.h.push(await time(() => hitstreamClient(sim, sizes.e2eHits)))
      const naivePath = join(dir, `naive-${r}.ndjson`)
      file.b.push(
        await time(async () => {
          const out = createWriteStream(naivePath)
          await naiveClient(sim, sizes.e2eHits, (line) => out.write(line))
          await new Promise<void>((resolve) => out.end(resolve))
        })
      )
      const hitstreamPath = join(dir, `hitstream-${r}.ndjson`)
      file.h.push(
        await time(async () => {
          // The sink's scope stays open: hitstreamClient closes the sink itself when done.
          const sink = await Effect.runPromise(
            Effect.flatMap(Scope.make(), (scope) =>
              Sink.file({
                path: hitstreamPath,
                format: "raw",
                rotateSize: undefined,
                rotateInterval: undefined,
                rotateGzip: false
              }).pipe(Scope.provide(scope))
            )
          )
          await hitstreamClient(sim, sizes.e2eHits, sink)
        })
      )
      log(
        `end to end round ${r + 1}: hitstream ${(sizes.e2eHits / count.h[r]).toFixed(0)} hits/s, naive ${(sizes.e2eHits / count.b[r]).toFixed(0)} hits/s`
      )
    }
    const rate = (xs: Array<number>) => xs.map((s) => sizes.e2eHits / s)
    return [
      {
        figure: "end to end, loopback, counting",
        unit: "hits/s",
        hitstream: rate(count.h),
        baseline: rate(count.b),
        better: "higher",
        target: ">= 0.9x",
        note: `${sizes.e2eHits} hits; simulator in its own process, preloaded gzip level 6; includes token and connect`
      },
      {
        figure: "end to end, loopback, file sink",
        unit: "hits/s",
        hitstream: rate(file.h),
        baseline: rate(file.b),
        better: "higher",
        target: ">= 0.9x",
        note: "NDJSON appended to a temporary file, fsync on close"
      }
    ]
  } finally {
    sim.stop()
    rmSync(dir, { recursive: true, force: true })
  }
}
