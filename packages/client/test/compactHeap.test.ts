// NodeLiveStream.compactHeap, in a process of its own (the flags are process wide): under a high
// allocation rate with objects in flight, as in a catch-up burst, the young generation stays at
// its bounded size (8 MB) and the heap stays near what the process holds.
import { assert, describe, it } from "@effect/vitest"
import { spawnSync } from "node:child_process"
import { fileURLToPath } from "node:url"

const nodeLiveStream = fileURLToPath(new URL("../src/NodeHeap.ts", import.meta.url))

const peakHeap = (compact: boolean) => {
  const script = `
    const v8 = await import("node:v8")
    const { compactHeap } = await import(${JSON.stringify(nodeLiveStream)})
    if (${compact}) compactHeap()
    let batch = [], inFlight = [], newSpace = 0, total = 0
    for (let i = 0; i < 600000; i++) {
      batch.push({ text: "x".repeat(300) + i, ids: [i, i + 1] })
      // A stream yields to the event loop between batches, where the GC observer runs.
      if (batch.length === 4000) { inFlight.push(batch); if (inFlight.length > 4) inFlight.shift(); batch = []; await new Promise((r) => setImmediate(r)) }
      if (i % 5000 === 0) {
        const spaces = v8.getHeapSpaceStatistics()
        newSpace = Math.max(newSpace, spaces.find((s) => s.space_name === "new_space").space_size)
        total = Math.max(total, v8.getHeapStatistics().total_heap_size)
      }
    }
    process.stdout.write(JSON.stringify({ newSpace: newSpace / 1048576, total: total / 1048576 }))
  `
  const run = spawnSync(
    process.execPath,
    ["--conditions=@hitstream/source", "--input-type=module", "-e", script],
    {
      encoding: "utf8",
      timeout: 60_000
    }
  )
  assert.strictEqual(run.status, 0, run.stderr)
  return JSON.parse(run.stdout) as { newSpace: number; total: number }
}

describe("NodeLiveStream.compactHeap", () => {
  it("keeps the young generation at its bounded size and the heap smaller than V8's default", () => {
    const normal = peakHeap(false)
    const compact = peakHeap(true)
    assert.isAtMost(
      compact.newSpace,
      24,
      `young generation ${compact.newSpace} MB (without: ${normal.newSpace} MB)`
    )
    assert.isAbove(
      normal.newSpace,
      compact.newSpace * 4,
      `without it the young generation grows: ${normal.newSpace} MB vs ${compact.newSpace} MB`
    )
    assert.isBelow(compact.total, normal.total, `heap ${compact.total} MB vs ${normal.total} MB`)
  }, 120_000)
})
