import { assert, describe, it } from "@effect/vitest"
import { Hit } from "@hitstream/core"
import { Effect, Exit } from "effect"
import { PassThrough, Writable } from "node:stream"
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync } from "node:fs"
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
      // Private whatever the umask: the live file and every rotated one.
      for (const f of readdirSync(dir)) assert.strictEqual(statSync(join(dir, f)).mode & 0o777, 0o600, f)
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
    }).pipe(Effect.scoped)
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
    }).pipe(Effect.scoped)
  )

  it.live("file: --file-mode widens the mode, whatever the umask", () =>
    Effect.gen(function* () {
      const dir = mkdtempSync(join(tmpdir(), "hitstream-sink-"))
      const path = join(dir, "hits.ndjson")
      const previous = process.umask(0o077)
      try {
        const sink = yield* Sink.file({
          path,
          format: "raw",
          rotateSize: undefined,
          rotateInterval: undefined,
          rotateGzip: false,
          mode: 0o640
        })
        yield* sink.write([hit(1)])
        yield* sink.close
      } finally {
        process.umask(previous)
      }
      assert.strictEqual(statSync(path).mode & 0o777, 0o640)
    }).pipe(Effect.scoped)
  )

  it.live("stdout: a reader that goes away is StdoutClosed, at once, and those hits are not counted", () =>
    Effect.gen(function* () {
      const out = new Writable({
        highWaterMark: 1 << 20,
        write: (_chunk, _enc, callback) => {
          // As from a pipe: the OS reports the closed reader after the write was accepted.
          const error = Object.assign(new Error("write EPIPE"), { code: "EPIPE" })
          setImmediate(() => callback(error))
        }
      })
      out.on("error", () => {})
      const sink = yield* Sink.stdout("raw", { out })
      yield* sink.write([hit(1), hit(2)])
      const broken = yield* Effect.exit(sink.broken)
      assert.isTrue(Exit.isFailure(broken))
      assert.include(String(broken), "StdoutClosed")
      assert.strictEqual(sink.written(), 0)
      const next = yield* Effect.flip(sink.write([hit(3)]))
      assert.strictEqual(next._tag, "StdoutClosed")
    })
  )

  it.live("stdout: counts hits once the pipe took them", () =>
    Effect.gen(function* () {
      const out = new PassThrough()
      const chunks: Array<string> = []
      out.setEncoding("utf8")
      out.on("data", (c: string) => chunks.push(c))
      const sink = yield* Sink.stdout("raw", { out })
      yield* sink.write([hit(1), hit(2)])
      yield* sink.close
      assert.strictEqual(sink.written(), 2)
      assert.strictEqual(chunks.join(""), Sink.render([hit(1), hit(2)], "raw"))
    })
  )
})
