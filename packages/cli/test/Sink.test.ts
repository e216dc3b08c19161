import { assert, describe, it } from "@effect/vitest"
import { Hit } from "@hitstream/core"
import { Effect } from "effect"
import { existsSync, mkdtempSync, readdirSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { gunzipSync } from "node:zlib"
import { Sink } from "../src/index.ts"

const hit = (n: number) =>
  Hit.parse(`{"hitIdHigh":${2n ** 63n + BigInt(n)},"hitIdLow":${n},"pageName":"Seite für ${n}"}`) as Hit.Hit

describe("Sink", () => {
  it("raw writes the original record text; json writes ids as exact strings", () => {
    const h = hit(1)
    assert.strictEqual(
      Sink.render([h], "raw"),
      `{"hitIdHigh":9223372036854775809,"hitIdLow":1,"pageName":"Seite für 1"}\n`
    )
    assert.strictEqual(
      Sink.render([h], "json"),
      `{"hitIdHigh":"9223372036854775809","hitIdLow":"1","pageName":"Seite für 1"}\n`
    )
  })

  it.live("file: appends NDJSON, rotates by size, gzips rotated files, loses nothing", () =>
    Effect.gen(function* () {
      const dir = mkdtempSync(join(tmpdir(), "hitstream-sink-"))
      const path = join(dir, "hits.ndjson")
      const sink = yield* Sink.file({
        path,
        format: "raw",
        rotateSize: 1000,
        rotateInterval: undefined,
        rotateGzip: true
      })
      for (let batch = 0; batch < 10; batch++) {
        yield* sink.write(Array.from({ length: 5 }, (_, i) => hit(batch * 5 + i)))
      }
      yield* sink.close
      assert.strictEqual(sink.written(), 50)
      const rotated = readdirSync(dir).filter((f) => f.endsWith(".gz"))
      assert.isAtLeast(rotated.length, 2, "rotated more than once")
      assert.isFalse(
        readdirSync(dir).some((f) => f !== "hits.ndjson" && !f.endsWith(".gz")),
        "plain rotated files were replaced by .gz"
      )
      const lines = [
        ...rotated.sort().flatMap((f) =>
          gunzipSync(readFileSync(join(dir, f)))
            .toString()
            .split("\n")
        ),
        ...readFileSync(path, "utf8").split("\n")
      ].filter(Boolean)
      assert.deepStrictEqual(
        lines,
        Array.from({ length: 50 }, (_, n) => Hit.recordText(hit(n)))
      )
      assert.isTrue(existsSync(path))
    })
  )

  it.live("file: an unwritable path is a SinkError naming it", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(
        Sink.file({
          path: "/nonexistent-dir/x/hits.ndjson",
          format: "raw",
          rotateSize: undefined,
          rotateInterval: undefined,
          rotateGzip: false
        })
      )
      assert.strictEqual(error._tag, "SinkError")
      assert.include(error.message, "/nonexistent-dir/x/hits.ndjson")
    })
  )
})
