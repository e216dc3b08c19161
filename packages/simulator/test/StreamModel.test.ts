// The vendor's rules as the simulator states them, tested without sockets or clocks.
import { assert, describe, it } from "@effect/vitest"
import { Arbitrary, Schema } from "effect"
import { StreamModel } from "../src/index.ts"

const rules = (overrides: Partial<StreamModel.Rules> = {}): StreamModel.Rules => ({
  partitions: 8,
  gracePeriod: 100,
  backfillWindow: 1_000,
  backfillDuplicates: 2,
  partitionOf: StreamModel.partitioner(1, overrides.partitions ?? 8),
  // One hit per millisecond.
  newest: (at) => at,
  ...overrides
})

const query = (maxConnections: number, reset?: StreamModel.Reset): StreamModel.Query => ({
  maxConnections,
  reset,
  smoothing: false,
  smoothingBucketSize: 270
})

const request = (overrides: Partial<StreamModel.Request> = {}): StreamModel.Request => ({
  method: "GET",
  acceptEncoding: "gzip",
  httpVersion: "1.1",
  listener: "main",
  authorization: true,
  authError: undefined,
  endpoint: "demo",
  apiVersion: 1,
  query: {},
  step: undefined,
  ...overrides
})

const state = (group: StreamModel.Group, overrides: Partial<StreamModel.State> = {}): StreamModel.State => ({
  at: 0,
  gracePeriod: 100,
  endpoint: { disabled: false, v2Enabled: false, group },
  redirect: "never",
  redirectedOnce: false,
  noTraffic503: false,
  busy503: false,
  ...overrides
})

const held = (group: StreamModel.Group, id: number) => group.members.find((m) => m.id === id)?.partitions

// Hits of partition p in [from, to).
const countIn = (r: StreamModel.Rules, p: number, from: number, to: number) => {
  let c = 0
  for (let n = from; n < to; n++) if (r.partitionOf(n) === p) c++
  return c
}

describe("StreamModel", () => {
  it("checks the query and names the parameter", () => {
    assert.deepStrictEqual(StreamModel.checkQuery({}), query(1))
    assert.deepStrictEqual(
      StreamModel.checkQuery({ maxConnections: "4", reset: "earliest", smoothing: "1" }),
      {
        maxConnections: 4,
        reset: "smallest",
        smoothing: true,
        smoothingBucketSize: 270
      }
    )
    assert.include(StreamModel.checkQuery({ maxConnections: "9" }) as string, "maxConnections")
    assert.include(StreamModel.checkQuery({ reset: "oldest" }) as string, "reset")
    assert.include(StreamModel.checkQuery({ smoothing: "yes" }) as string, "smoothing")
    assert.include(StreamModel.checkQuery({ smoothingBucketSize: "7201" }) as string, "smoothingBucketSize")
  })

  it("admit: the vendor's checks in the vendor's order", () => {
    const group = StreamModel.makeGroup(8)
    const s = state(group)
    const status = (r: Partial<StreamModel.Request>, st: StreamModel.State = s) => {
      const d = StreamModel.admit(request(r), st)
      return d._tag === "Reject" ? d.status : d._tag
    }
    // Each request is wrong in every later way too: the first check decides.
    assert.strictEqual(
      status({ method: "POST", acceptEncoding: "", httpVersion: "1.0", authError: "x" }),
      405
    )
    assert.strictEqual(status({ acceptEncoding: "deflate", httpVersion: "1.0", authError: "x" }), 406)
    assert.strictEqual(status({ httpVersion: "1.0", authError: "x" }), 505)
    assert.strictEqual(status({ listener: "redirect", authorization: false, authError: "x" }), 401)
    assert.strictEqual(
      status({ authError: "token expired", endpoint: "nope" }, state(group, { endpoint: undefined })),
      401
    )
    assert.strictEqual(status({ step: { status: 401 } }, state(group, { endpoint: undefined })), 401)
    assert.strictEqual(status({ apiVersion: 2 }, state(group, { endpoint: undefined })), 404)
    assert.strictEqual(
      status({ apiVersion: 2 }, state(group, { endpoint: { disabled: true, v2Enabled: false, group } })),
      404
    )
    assert.strictEqual(status({ apiVersion: 2, query: { maxConnections: "9" } }), 424)
    assert.strictEqual(status({ query: { maxConnections: "9" }, step: { status: 503 } }), 400)
    assert.strictEqual(status({ step: { status: 503 } }, state(group, { redirect: "always" })), 503)
    assert.strictEqual(status({}, state(group, { redirect: "always", noTraffic503: true })), "Redirect")
    assert.strictEqual(status({}, state(group, { redirect: "first", redirectedOnce: true })), "Accept")
    assert.strictEqual(status({}, state(group, { noTraffic503: true })), 503)
    assert.strictEqual(status({ step: { status: 200 } }), "Accept")
  })

  it("admit: scripted 429 and 503 carry Retry-After", () => {
    const s = state(StreamModel.makeGroup(8))
    const d = StreamModel.admit(request({ step: { status: 429, retryAfter: 7 } }), s)
    assert.deepStrictEqual(d._tag === "Reject" && [d.status, d.retryAfter], [429, "7"])
    const date = "Wed, 21 Oct 2026 07:28:00 GMT"
    const e = StreamModel.admit(request({ step: { status: 503, retryAfter: date } }), s)
    assert.deepStrictEqual(e._tag === "Reject" && [e.status, e.retryAfter], [503, date])
  })

  it("a lone member holds every partition, whatever maxConnections says", () => {
    const r = rules()
    const group = StreamModel.makeGroup(8)
    const event = StreamModel.join(group, r, 1, query(4), 0)
    assert.deepStrictEqual(held(group, 1), [0, 1, 2, 3, 4, 5, 6, 7])
    assert.deepStrictEqual(event.assignment, [
      { member: 1, open: true, partitions: [0, 1, 2, 3, 4, 5, 6, 7] }
    ])
    assert.isTrue(group.partitions.every((p) => p.start === 0))
  })

  it("a join takes half, sticky, from the committed position: the duplicates of a handover", () => {
    const r = rules()
    const group = StreamModel.makeGroup(8)
    StreamModel.join(group, r, 1, query(2), 0)
    for (let p = 0; p < 8; p++) StreamModel.written(group, p, group.partitions[p].epoch, 500)
    StreamModel.join(group, r, 2, query(2), 600)
    assert.deepStrictEqual(held(group, 1), [0, 1, 2, 3])
    assert.deepStrictEqual(held(group, 2), [4, 5, 6, 7])
    for (let p = 4; p < 8; p++) {
      const part = group.partitions[p]
      assert.strictEqual(part.owner, 2)
      assert.strictEqual(countIn(r, p, part.start, 500), 2, `two re-sends in partition ${p}`)
      assert.strictEqual(part.duplicatesUntil, 500)
    }
    // A late write of the first holder for a partition it lost changes nothing.
    StreamModel.written(group, 4, group.partitions[4].epoch - 1, 550)
    assert.strictEqual(group.partitions[4].written, 500)
  })

  it("a quick reconnect over capacity while a ghost counts: 409, or 503 when drawn", () => {
    const r = rules({ gracePeriod: 100 })
    const group = StreamModel.makeGroup(8)
    StreamModel.join(group, r, 1, query(1), 0)
    StreamModel.leave(group, 1, 310)
    const quick = StreamModel.admit(request(), state(group, { at: 409 }))
    assert.deepStrictEqual(
      quick._tag === "Reject" && [quick.status, quick.description.includes("recently dropped")],
      [409, true]
    )
    const busy = StreamModel.admit(request(), state(group, { at: 350, busy503: true }))
    assert.strictEqual(busy._tag === "Reject" && busy.status, 503)
    // The grace period is over: the same request is served.
    assert.strictEqual(StreamModel.admit(request(), state(group, { at: 410 }))._tag, "Accept")
  })

  it("a dropped member keeps its partitions, undelivered, for the grace period; then they move", () => {
    const r = rules({ gracePeriod: 100 })
    const group = StreamModel.makeGroup(8)
    StreamModel.join(group, r, 1, query(2), 0)
    for (let p = 0; p < 8; p++) StreamModel.written(group, p, group.partitions[p].epoch, 300)
    const left = StreamModel.leave(group, 1, 310)
    assert.deepStrictEqual(left?.assignment, [
      { member: 1, open: false, partitions: [0, 1, 2, 3, 4, 5, 6, 7] }
    ])
    // Admitted (2 allowed), but the ghost still holds everything.
    const d = StreamModel.admit(request({ query: { maxConnections: "2" } }), state(group, { at: 350 }))
    assert.strictEqual(d._tag, "Accept")
    StreamModel.join(group, r, 2, query(2), 350)
    assert.deepStrictEqual(held(group, 2), [])
    assert.deepStrictEqual(StreamModel.expire(group, r, 409), [])
    const events = StreamModel.expire(group, r, 500)
    assert.deepStrictEqual(
      events.map((e) => [e.at, e.cause, e.member, e.assignment]),
      [[410, "expire", 1, [{ member: 2, open: true, partitions: [0, 1, 2, 3, 4, 5, 6, 7] }]]]
    )
    for (let p = 0; p < 8; p++) assert.strictEqual(countIn(r, p, group.partitions[p].start, 300), 2)
  })

  it("past the backfill window a partition resumes at the newest hit, unless reset=smallest", () => {
    const r = rules({ gracePeriod: 10, backfillWindow: 1_000 })
    const group = StreamModel.makeGroup(8)
    StreamModel.join(group, r, 1, query(1), 0)
    for (let p = 0; p < 8; p++) StreamModel.written(group, p, group.partitions[p].epoch, 100)
    StreamModel.leave(group, 1, 100)
    StreamModel.expire(group, r, 5_000)
    StreamModel.join(group, r, 2, query(1), 5_000)
    assert.isTrue(
      group.partitions.every((p) => p.start === 5_000),
      "hits generated meanwhile are lost"
    )
    StreamModel.leave(group, 2, 5_000)
    StreamModel.expire(group, r, 9_000)
    StreamModel.join(group, r, 3, query(1, "smallest"), 9_000)
    assert.isTrue(
      group.partitions.every((p) => p.start === 0),
      "smallest replays from the oldest"
    )
    StreamModel.leave(group, 3, 9_000)
    StreamModel.expire(group, r, 9_100)
    StreamModel.join(group, r, 4, query(1, "largest"), 9_100)
    assert.isTrue(
      group.partitions.every((p) => p.start === 9_100),
      "largest skips to the newest"
    )
  })

  it("disagreeing maxConnections is a 409 while any member counts", () => {
    const r = rules()
    const group = StreamModel.makeGroup(8)
    StreamModel.join(group, r, 1, query(4), 0)
    const d = StreamModel.admit(request({ query: { maxConnections: "2" } }), state(group, { at: 1 }))
    assert.isTrue(d._tag === "Reject" && d.status === 409 && d.description.includes("disagree"))
  })

  const op = Arbitrary.schema(
    Schema.Struct({
      kind: Schema.Literals(["join", "leave", "wait", "write"]),
      n: Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 400 }))
    })
  )
  const setup = Arbitrary.schema(
    Schema.Struct({
      partitions: Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 8 })),
      maxConnections: Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 8 }))
    })
  )

  it.prop(
    "over any join/leave/timeout sequence: nothing lost, nothing held twice, balanced, ghosts pinned, handovers re-send at most backfillDuplicates",
    [setup, Arbitrary.array(op, { maxLength: 60 })],
    ([{ partitions, maxConnections }, ops]) => {
      const r = rules({ partitions, gracePeriod: 100, backfillWindow: 300 })
      const group = StreamModel.makeGroup(partitions)
      const pinned = new Map<number, string>()
      let at = 0
      let id = 0
      const check = (label: string) => {
        const inGroup = group.members
        const all = inGroup.flatMap((m) => m.partitions)
        assert.strictEqual(new Set(all).size, all.length, `${label}: a partition held twice`)
        for (const m of inGroup)
          for (const p of m.partitions) assert.strictEqual(group.partitions[p].owner, m.id)
        const open = inGroup.filter((m) => m.closedAt === undefined)
        if (open.length > 0) assert.strictEqual(all.length, partitions, `${label}: a partition nobody holds`)
        const counts = open.map((m) => m.partitions.length)
        if (counts.length > 0)
          assert.isAtMost(Math.max(...counts) - Math.min(...counts), 1, `${label}: unbalanced`)
        if (inGroup.length === 1 && open.length === 1)
          assert.strictEqual(open[0].partitions.length, partitions)
        for (const m of inGroup)
          if (m.closedAt !== undefined) assert.strictEqual(m.partitions.join(), pinned.get(m.id))
        assert.isAtMost(inGroup.filter((m) => StreamModel.inGroup(m, at, 100)).length, maxConnections)
      }
      for (const { kind, n } of ops) {
        const before = group.partitions.map((p) => ({ ...p }))
        StreamModel.expire(group, r, at)
        switch (kind) {
          case "wait":
            at += n
            break
          case "join": {
            const decision = StreamModel.admit(
              request({ query: { maxConnections: String(maxConnections) } }),
              state(group, { at })
            )
            if (decision._tag === "Accept") StreamModel.join(group, r, ++id, decision.query, at)
            break
          }
          case "leave": {
            const open = group.members.filter((m) => m.closedAt === undefined)
            const m = open[n % Math.max(1, open.length)]
            if (m !== undefined) {
              StreamModel.leave(group, m.id, at)
              pinned.set(m.id, m.partitions.join())
            }
            break
          }
          case "write":
            for (const part of group.partitions) {
              const p = group.partitions.indexOf(part)
              if (part.owner !== undefined)
                StreamModel.written(group, p, part.epoch, Math.min(at, part.start + n))
            }
            break
        }
        // Every handover re-sends at most backfillDuplicates hits of what was written, and skips
        // ahead only for a partition left undelivered past the backfill window.
        group.partitions.forEach((part, p) => {
          const old = before[p]
          if (part.epoch === old.epoch || !old.held) return
          assert.isAtMost(countIn(r, p, part.start, old.written), 2, "at most backfillDuplicates re-sent")
          if (part.start > old.written) {
            assert.isTrue(
              old.releasedAt !== undefined && at - old.releasedAt > 300,
              "skipped inside the window"
            )
          }
        })
        check(`${kind} ${n} at ${at}`)
      }
    },
    { arbitrary: { runs: 200 } }
  )
})
