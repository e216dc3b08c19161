import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Exit, Fiber, Stream } from "effect"
import { constants, gunzipSync, gzipSync } from "node:zlib"
import { Framing, Hit } from "../src/index.ts"
import * as A from "./arbitraries.ts"

const encoder = new TextEncoder()

const expected = (items: ReadonlyArray<A.Item>) => ({
  hits: items.flatMap((i) => (i._tag === "Hit" ? [i.hit] : [])),
  garbage: items.filter((i) => i._tag === "Garbage").length
})

const check = (framed: ReadonlyArray<Framing.Framed>, items: ReadonlyArray<A.Item>) => {
  const want = expected(items)
  const hits = framed.filter((f): f is Hit.Hit => !Hit.isMalformed(f))
  const malformed = framed.filter(Hit.isMalformed)
  assert.strictEqual(malformed.length, want.garbage, "garbage records counted")
  assert.strictEqual(hits.length, want.hits.length, "hit count")
  hits.forEach((hit, n) => {
    const w = want.hits[n]
    // Exact digits: the ids must survive as the very numbers that were written.
    assert.strictEqual(hit.hitIdHigh, w.hitIdHigh.toString())
    assert.strictEqual(hit.hitIdLow, w.hitIdLow.toString())
    assert.strictEqual(hit.pageName, w.pageName)
    assert.strictEqual(hit.timeGMT, w.timeGMT)
    assert.strictEqual(Hit.recordText(hit), A.recordText(w))
  })
}

describe("Framing", () => {
  it.effect.prop(
    "gzip chunks cut anywhere: exactly the valid hits, in order, ids exact, garbage counted",
    [A.items, A.cuts, A.cuts],
    ([items, cuts, _]) =>
      Effect.gen(function* () {
        const body = gzipSync(encoder.encode(A.serialise(items, cuts.length % 2 === 0)))
        const framed = yield* Stream.runCollect(Framing.decode(Stream.fromIterable(A.cut(body, cuts))))
        check(framed, items)
      }),
    { arbitrary: { runs: 150 } }
  )

  it.effect.prop(
    "uncompressed bytes cut anywhere (inside CRLF and inside UTF-8 characters): same records",
    [A.items, A.cuts],
    ([items, cuts]) =>
      Effect.gen(function* () {
        const body = encoder.encode(A.serialise(items, cuts.length % 2 === 1))
        const framed = yield* Stream.runCollect(
          Framing.decodeUncompressed(Stream.fromIterable(A.cut(body, cuts)))
        )
        check(framed, items)
      }),
    { arbitrary: { runs: 300 } }
  )

  it("splits a CRLF pair and a 4-byte character across chunks", () => {
    const bytes = encoder.encode('{"pageName":"😀"}\r\n\r\n{"a":1}\n')
    const splitter = new Framing.RecordSplitter()
    const records: Array<Framing.Split> = []
    for (let i = 0; i < bytes.length; i++) records.push(...splitter.push(bytes.subarray(i, i + 1)))
    records.push(...splitter.end())
    assert.deepStrictEqual(records, ['{"pageName":"😀"}', '{"a":1}'])
  })

  it("keeps a final record that has no separator", () => {
    const splitter = new Framing.RecordSplitter()
    assert.deepStrictEqual(splitter.push(encoder.encode('{"a":1}\r\n{"b"')), ['{"a":1}'])
    assert.deepStrictEqual(splitter.push(encoder.encode(":2}")), [])
    assert.deepStrictEqual(splitter.end(), ['{"b":2}'])
  })

  it.effect("a truncated gzip stream fails with GzipError after every completed record", () =>
    Effect.gen(function* () {
      const lines = Array.from(
        { length: 2000 },
        (_, i) => `{"hitIdHigh":${2n ** 63n + BigInt(i)},"hitIdLow":${i}}`
      )
      const body = gzipSync(encoder.encode(lines.join("\r\n") + "\r\n"))
      const truncated = body.subarray(0, body.length - 12)
      const seen: Array<Framing.Framed> = []
      const exit = yield* Framing.decode(Stream.fromIterable(A.cut(truncated, [0.3, 0.6]))).pipe(
        Stream.runForEach((f) => Effect.sync(() => seen.push(f))),
        Effect.exit
      )
      assert.isTrue(Exit.isFailure(exit))
      if (Exit.isFailure(exit)) assert.include(String(exit.cause), "GzipError")
      // Every record zlib itself can recover from the truncated bytes arrives, in order, exact.
      const recoverable = gunzipSync(truncated, { finishFlush: constants.Z_SYNC_FLUSH })
        .toString()
        .split("\r\n")
      assert.isAtLeast(seen.length, recoverable.length - 1)
      assert.isAbove(seen.length, 1000)
      seen.forEach((f, i) => assert.strictEqual((f as Hit.Hit).hitIdHigh, (2n ** 63n + BigInt(i)).toString()))
    })
  )

  it.live(
    "gunzipSplit reads a bounded number of bytes ahead of a consumer that waits, then delivers all",
    () =>
      Effect.gen(function* () {
        // About 20 MB inflated from a few hundred KB: without a bound in inflated bytes, a reader
        // ahead of the consumer would take the whole body.
        const records = 20_000
        const pad = "x".repeat(1000)
        const text = Array.from({ length: records }, (_, i) => `{"hitIdLow":${i},"pad":"${pad}"}`).join(
          "\r\n"
        )
        const body = gzipSync(encoder.encode(`${text}\r\n`))
        const pieces: Array<Uint8Array> = []
        for (let o = 0; o < body.length; o += 1024) pieces.push(body.subarray(o, o + 1024))
        let pulled = 0
        const source = Stream.rechunk(Stream.fromIterable(pieces), 1).pipe(
          Stream.tap((piece) => Effect.sync(() => (pulled += piece.length)))
        )
        const gate = yield* Deferred.make<void>()
        let seen = 0
        const fiber = yield* Framing.gunzipSplit(source, { readAhead: 64 * 1024 }).pipe(
          Stream.runForEach(() =>
            Effect.andThen(
              Deferred.await(gate),
              Effect.sync(() => seen++)
            )
          ),
          Effect.forkChild
        )
        // Bounded wait until the reader stops (zlib works on its own thread).
        // `pulled` moves in the reader's fiber: read it through a function, once per turn.
        const readSoFar = () => pulled
        let last = -1
        for (let i = 0; i < 250 && (readSoFar() === 0 || readSoFar() !== last); i++) {
          last = readSoFar()
          yield* Effect.sleep(20)
        }
        assert.isBelow(pulled, body.length / 4, `read ${pulled} of ${body.length} compressed bytes ahead`)
        yield* Deferred.succeed(gate, undefined)
        yield* Fiber.join(fiber)
        assert.strictEqual(seen, records)
        assert.strictEqual(pulled, body.length)
      })
  )

  it.live("records are handled after zlib's callback returns, so the next piece inflates meanwhile", () =>
    Effect.gen(function* () {
      // Handled inside the callback (a fiber resumed there runs there), zlib would be handed the
      // next piece only once the consumer was done with this one: the two would take turns.
      const text = Array.from({ length: 5_000 }, (_, i) => `{"hitIdLow":${i},"pad":"${"y".repeat(200)}"}`)
      const body = gzipSync(encoder.encode(`${text.join("\r\n")}\r\n`))
      const pieces: Array<Uint8Array> = []
      for (let o = 0; o < body.length; o += 4096) pieces.push(body.subarray(o, o + 4096))
      const limit = Error.stackTraceLimit
      Error.stackTraceLimit = Number.POSITIVE_INFINITY
      const stacks: Array<string> = []
      const seen = yield* Stream.rechunk(Stream.fromIterable(pieces), 1).pipe(
        Framing.decode,
        Stream.mapArray((batch) => {
          stacks.push(new Error().stack ?? "")
          return batch
        }),
        Stream.runCount,
        Effect.ensuring(Effect.sync(() => (Error.stackTraceLimit = limit)))
      )
      assert.strictEqual(seen, 5_000)
      assert.isAbove(stacks.length, 1)
      assert.deepStrictEqual(
        stacks.filter((stack) => stack.includes("node:zlib")),
        [],
        "a batch was handled inside a zlib callback"
      )
    })
  )

  it.effect("garbage bytes instead of gzip fail with GzipError", () =>
    Effect.gen(function* () {
      const exit = yield* Framing.decode(Stream.make(encoder.encode("this is not gzip"))).pipe(
        Stream.runCollect,
        Effect.exit
      )
      assert.isTrue(Exit.isFailure(exit))
      if (Exit.isFailure(exit)) assert.include(String(exit.cause), "GzipError")
    })
  )

  it.effect("a failing body fails with its own error after the records already decoded", () =>
    Effect.gen(function* () {
      const body = gzipSync(
        encoder.encode('{"hitIdHigh":1,"hitIdLow":2}\r\n{"hitIdHigh":3,"hitIdLow":4}\r\n')
      )
      const half = body.subarray(0, body.length - 8) // the data is whole, the trailer is not
      const seen: Array<Framing.Framed> = []
      const exit = yield* Framing.decode(
        Stream.concat(Stream.make(half), Stream.fail("socket reset" as const))
      ).pipe(
        Stream.runForEach((f) => Effect.sync(() => seen.push(f))),
        Effect.exit
      )
      assert.strictEqual(seen.length, 2)
      assert.deepStrictEqual(exit, Exit.fail("socket reset"))
    })
  )
})

const byteLength = (text: string) => encoder.encode(text).length

/** The records of `[limit, offsets]`: sizes spread below, at and above the limit. */
const recordsAround = (limit: number, offsets: ReadonlyArray<readonly [number, number]>) =>
  offsets.map(([offset, unit], n) =>
    // Some far past the limit (many chunks long), most within a few bytes of it.
    A.sizedRecord(Math.max(8, n % 5 === 4 ? limit * 7 + offset : limit + offset), unit)
  )

const checkSplit = (out: ReadonlyArray<Framing.Split>, records: ReadonlyArray<string>, limit: number) => {
  assert.strictEqual(out.length, records.length, "one output per record")
  out.forEach((o, i) => {
    const size = byteLength(records[i])
    if (size > limit) {
      assert.isTrue(Hit.isMalformed(o), `record ${i} of ${size} bytes is over ${limit}`)
      const m = o as Hit.MalformedRecord
      assert.strictEqual(m.reason, "TooLong")
      assert.strictEqual(m.length, size, "the skipped record's size in bytes")
    } else {
      assert.strictEqual(o, records[i], `record ${i} of ${size} bytes is delivered`)
    }
  })
}

describe("Framing: maxRecordBytes", () => {
  it.effect.prop(
    "uncompressed, cut anywhere: records over the limit skipped with their size, the rest exact",
    [A.aroundLimit, A.cuts, A.cuts],
    ([[limit, offsets], cuts, more]) =>
      Effect.gen(function* () {
        const records = recordsAround(limit, offsets)
        const body = encoder.encode(records.map((r, i) => r + (i % 3 === 1 ? "\n" : "\r\n")).join(""))
        const out = yield* Stream.runCollect(
          Framing.split(Stream.fromIterable(A.cut(body, [...cuts, ...more])), { maxRecordBytes: limit })
        )
        checkSplit(out, records, limit)
      }),
    { arbitrary: { runs: 300 } }
  )

  it.effect.prop(
    "gzip, cut anywhere: the same, through the fused gunzip and splitter",
    [A.aroundLimit, A.cuts],
    ([[limit, offsets], cuts]) =>
      Effect.gen(function* () {
        const records = recordsAround(limit, offsets)
        // The last record without a separator: a finished body still delivers (or skips) it.
        const body = gzipSync(encoder.encode(records.join("\r\n")))
        const out = yield* Stream.runCollect(
          Framing.gunzipSplit(Stream.fromIterable(A.cut(body, cuts)), { maxRecordBytes: limit })
        )
        checkSplit(out, records, limit)
      }),
    { arbitrary: { runs: 150 } }
  )

  it.effect("a gzip bomb (one 64 MiB record, ~64 KiB compressed) is skipped; the hits after it arrive", () =>
    Effect.gen(function* () {
      const size = 64 * 1024 * 1024
      const bomb = Buffer.alloc(size, "a")
      const after = '{"hitIdHigh":18446744073709551615,"hitIdLow":7}\r\n'
      const body = gzipSync(
        Buffer.concat([Buffer.from('{"hitIdHigh":1,"hitIdLow":1}\r\n'), bomb, Buffer.from(`\r\n${after}`)])
      )
      assert.isBelow(body.length, 100 * 1024)
      const before = process.memoryUsage().rss
      let peak = before
      const framed: Array<Framing.Framed> = []
      yield* Framing.decode(Stream.fromIterable(A.cut(body, [0.25, 0.5, 0.75]))).pipe(
        Stream.runForEach((f) =>
          Effect.sync(() => {
            framed.push(f)
            peak = Math.max(peak, process.memoryUsage().rss)
          })
        )
      )
      assert.strictEqual(framed.length, 3)
      assert.strictEqual((framed[0] as Hit.Hit).hitIdLow, "1")
      const skipped = framed[1] as Hit.MalformedRecord
      assert.strictEqual(skipped.reason, "TooLong")
      assert.strictEqual(skipped.length, size)
      assert.isBelow(skipped.preview.length, 200)
      assert.strictEqual((framed[2] as Hit.Hit).hitIdHigh, "18446744073709551615")
      // Inflating it whole would take 64 MiB (and as text, twice that); bounded, it takes ~1 MiB.
      assert.isBelow(peak - before, 48 * 1024 * 1024)
    })
  )

  it("the splitter holds at most the limit while skipping", () => {
    const splitter = new Framing.RecordSplitter(1000)
    const chunk = new Uint8Array(4096).fill(97)
    const out: Array<Framing.Split> = []
    for (let i = 0; i < 100; i++) splitter.pushInto(chunk, out)
    assert.strictEqual(out.length, 0)
    assert.isBelow((splitter as any).tail.length, 1001)
    splitter.pushInto(encoder.encode('\r\n{"a":1}\r\n'), out)
    assert.deepStrictEqual(
      out.map((o) => (typeof o === "string" ? o : `${o.reason} ${o.length}`)),
      ["TooLong 409600", '{"a":1}']
    )
  })
})
