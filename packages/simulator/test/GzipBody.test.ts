// The body's gzip member, built batch by batch, checked with zlib's own gunzip.
import { assert, describe, it } from "@effect/vitest"
import { Arbitrary, Effect, Schema } from "effect"
import { gunzipSync, inflateRawSync } from "node:zlib"
import { GzipBody, HitGenerator } from "../src/index.ts"

const compress = (body: GzipBody.GzipBody, bytes: Buffer) =>
  Effect.callback<Buffer>((resume) =>
    body.compress(bytes, (out) => resume(out instanceof Error ? Effect.die(out) : Effect.succeed(out)))
  )

const records = (from: number, count: number) => {
  const target = Buffer.alloc(count * (HitGenerator.maxRecordBytes + 2))
  let at = 0
  for (let n = from; n < from + count; n++) {
    at = HitGenerator.encodeInto(3, n, 1_764_000_000, target, at)
    at += target.write("\r\n", at)
  }
  return target.subarray(0, at)
}

const sizes = Arbitrary.schema(
  Schema.Array(Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 40 }))).check(
    Schema.isMinLength(1),
    Schema.isMaxLength(6)
  )
)

describe("GzipBody", () => {
  it.effect.prop(
    "batches compressed in turn, then the trailer, gunzip to the batches in order; each piece alone ends on a byte boundary",
    [sizes],
    ([counts]) =>
      Effect.gen(function* () {
        const body = GzipBody.make({ level: 1, trailing: true, chunkSize: 64 * 1024, contexts: 2 })
        const batches: Array<Buffer> = []
        let from = 0
        for (const count of counts) {
          batches.push(records(from, count))
          from += count
        }
        // All submitted at once: the outputs still come back in order, each complete.
        const pieces = yield* Effect.all(
          batches.map((b) => compress(body, b)),
          { concurrency: "unbounded" }
        )
        body.close()
        const raw = Buffer.concat(pieces)
        // Every prefix of whole pieces is a valid deflate stream up to a sync flush.
        for (let i = 1; i <= pieces.length; i++) {
          const prefix = inflateRawSync(Buffer.concat(pieces.slice(0, i)), { finishFlush: 2 })
          assert.isTrue(prefix.equals(Buffer.concat(batches.slice(0, i))), `after piece ${i}`)
        }
        const framed = Buffer.concat([body.framed(raw), body.trailer()])
        assert.isTrue(gunzipSync(framed).equals(Buffer.concat(batches)))
      }),
    { arbitrary: { runs: 25 } }
  )

  it.effect("the truncated tail ends the member mid-way: gunzip names the unexpected end", () =>
    Effect.gen(function* () {
      const body = GzipBody.make({ level: 1, trailing: false, chunkSize: 64 * 1024, contexts: 2 })
      const first = body.framed(yield* compress(body, records(0, 5)))
      const tail = yield* body.truncated
      body.close()
      const cut = Buffer.concat([first, tail.subarray(0, Math.max(1, tail.length >> 1))])
      assert.throws(() => gunzipSync(cut), /unexpected end/)
      assert.isTrue(gunzipSync(cut, { finishFlush: 2 }).subarray(0, 20).equals(records(0, 1).subarray(0, 20)))
    })
  )
})
