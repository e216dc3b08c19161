// The smoke test `npm test` runs: `npm run bench -- --quick` runs and prints every row. It asserts
// no timing: the figures themselves live in docs/benchmarks.md.
import { assert, describe, it } from "@effect/vitest"
import { execFileSync } from "node:child_process"
import { fileURLToPath } from "node:url"

const bin = fileURLToPath(new URL("../bin/bench.ts", import.meta.url))

describe("npm run bench -- --quick", () => {
  it("runs and prints every row", { timeout: 120_000 }, () => {
    const out = execFileSync(
      process.execPath,
      ["--conditions=@hitstream/source", "--expose-gc", bin, "--quick"],
      {
        encoding: "utf8",
        stdio: ["ignore", "pipe", "pipe"]
      }
    )
    for (const row of [
      "decode pipeline",
      "end to end, loopback, counting",
      "end to end, loopback, file sink",
      "heap growth after warm-up",
      "RSS at",
      "dedup bytes per remembered hit",
      "added latency p50",
      "added latency p99",
      "reconnect cycle CPU"
    ]) {
      assert.include(out, row)
    }
    assert.match(out, /node v\d+/)
    assert.match(out, /\d+ cores/)
    // Every data row has a value in both columns.
    const rows = out
      .split("\n")
      .filter((l) => l.startsWith("| ") && !l.startsWith("| figure") && !l.startsWith("| ---"))
    assert.isAtLeast(rows.length, 15)
    for (const row of rows) {
      const cells = row.split("|").map((c) => c.trim())
      assert.notStrictEqual(cells[3], "-", row)
      assert.notStrictEqual(cells[4], "-", row)
    }
  })
})
