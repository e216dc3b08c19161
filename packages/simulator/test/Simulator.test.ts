import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { HitGenerator } from "../src/index.ts"
import { constants, gunzipSync } from "node:zlib"
import { get, indexOf, json, rawRequest, records, token } from "./http.ts"
import { credentials, withSimulator } from "./support.ts"

const idsIn = (record: string) => {
  const m = /"hitIdHigh":(\d+),"hitIdLow":(\d+)/.exec(record)
  return m === null ? undefined : { hitIdHigh: m[1], hitIdLow: m[2] }
}

describe("Simulator", () => {
  it.live("token endpoint: issues bearer tokens, refuses wrong credentials like IMS", () =>
    withSimulator({ tokenLifetimeSeconds: 120 }, (sim) =>
      Effect.gen(function* () {
        const ok = yield* token(sim.tokenUrl(), {
          grant_type: "client_credentials",
          client_id: sim.clientId,
          client_secret: sim.clientSecret,
          scope: "openid"
        })
        assert.strictEqual(ok.status, 200)
        assert.strictEqual(ok.body.token_type, "bearer")
        assert.strictEqual(ok.body.expires_in, 120)
        assert.match(ok.body.access_token, /^sim\./)
        const badSecret = yield* token(sim.tokenUrl(), {
          grant_type: "client_credentials",
          client_id: sim.clientId,
          client_secret: "nope"
        })
        assert.strictEqual(badSecret.status, 401)
        assert.strictEqual(badSecret.body.error, "invalid_client")
        const badClient = yield* token(sim.tokenUrl(), {
          grant_type: "client_credentials",
          client_id: "x",
          client_secret: "y"
        })
        assert.strictEqual(badClient.status, 400)
        const badGrant = yield* token(sim.tokenUrl(), { grant_type: "password" })
        assert.strictEqual(badGrant.body.error, "unsupported_grant_type")
      })
    )
  )

  it.live("checks requests in the vendor's order and answers each status with a JSON reason", () =>
    withSimulator({ endpoints: ["demo"], disabledEndpoints: ["old"] }, (sim) =>
      Effect.gen(function* () {
        const headers = yield* credentials(sim)
        const port = Number(new URL(sim.baseUrl).port)
        const status = (url: string, h: Record<string, string>, method = "GET") =>
          Effect.map(
            get(url, { headers: h, method, within: 1000 }),
            (r) => [r.status, r.status === 200 ? "" : json(r).error_description] as const
          )

        // 405 before everything else, even without credentials.
        assert.strictEqual((yield* status(sim.streamUrl(), {}, "POST"))[0], 405)
        // 406 before authentication.
        assert.strictEqual((yield* status(sim.streamUrl(), { authorization: headers.authorization }))[0], 406)
        const raw = yield* rawRequest(
          port,
          `GET /api/1/stream/demo HTTP/1.0\r\nHost: x\r\nAccept-Encoding: gzip\r\n\r\n`
        )
        assert.match(raw, /^HTTP\/1\.1 505/)
        assert.strictEqual((yield* status(sim.streamUrl(), { "accept-encoding": "gzip" }))[0], 401)
        const noKey = yield* status(sim.streamUrl(), { ...headers, "x-api-key": "" })
        assert.deepStrictEqual(noKey, [401, "missing x-api-key header"])
        assert.strictEqual((yield* status(sim.streamUrl("nope"), headers))[0], 404)
        const disabled = yield* status(sim.streamUrl("old"), headers)
        assert.strictEqual(disabled[0], 404)
        assert.include(disabled[1], "90 days")
        const bad = yield* status(`${sim.streamUrl()}?maxConnections=9`, headers)
        assert.strictEqual(bad[0], 400)
        assert.include(bad[1], "maxConnections")
        const bucket = yield* status(`${sim.streamUrl()}?smoothing=1&smoothingBucketSize=0`, headers)
        assert.include(bucket[1], "smoothingBucketSize")
        const v2 = yield* status(sim.streamUrl("demo", 2), headers)
        assert.strictEqual(v2[0], 424)
        assert.include(v2[1], "/api/2/enable/demo")
        assert.strictEqual((yield* status(`${sim.streamUrl()}?beta=true`, headers))[0], 424)
        const enable = yield* get(`${sim.baseUrl}/api/2/enable/demo`, { headers })
        assert.strictEqual(enable.status, 200)
        assert.include(json(enable).message, "15 minutes")
        const streaming = yield* get(sim.streamUrl("demo", 2), { headers, records: 1, within: 3000 })
        assert.strictEqual(streaming.status, 200)
        const log = yield* sim.log
        assert.deepStrictEqual(
          log.map((a) => a.status),
          [405, 406, 505, 401, 401, 404, 404, 400, 400, 424, 424, 200]
        )
      })
    )
  )

  it.live("401 for revoked and expired tokens", () =>
    withSimulator({ tokenLifetimeSeconds: 1 }, (sim) =>
      Effect.gen(function* () {
        const headers = yield* credentials(sim)
        yield* sim.revokeTokens
        const revoked = yield* get(sim.streamUrl(), { headers })
        assert.deepStrictEqual([revoked.status, json(revoked).error_description], [401, "token revoked"])
        const fresh = yield* credentials(sim)
        yield* Effect.sleep(1100)
        const expired = yield* get(sim.streamUrl(), { headers: fresh })
        assert.deepStrictEqual([expired.status, json(expired).error_description], [401, "token expired"])
      })
    )
  )

  it.live("200: gzip, chunked, CRLF records that zlib + split decode, ids above 2^53 as bare numbers", () =>
    withSimulator(
      { rate: Number.POSITIVE_INFINITY, totalHits: 400, emptyRecordRate: 0.2, maxChunkSize: 700 },
      (sim) =>
        Effect.gen(function* () {
          const headers = yield* credentials(sim)
          const reply = yield* get(sim.streamUrl(), { headers, records: 400, within: 5000 })
          assert.strictEqual(reply.status, 200)
          assert.strictEqual(reply.headers["content-encoding"], "gzip")
          assert.strictEqual(reply.headers["transfer-encoding"], "chunked")
          assert.isAbove(reply.chunks, 3)
          const text = records(reply.raw)
          assert.strictEqual(text.length, 400)
          text.forEach((record, n) => {
            const parsed = JSON.parse(record)
            assert.strictEqual(parsed.reportSuite, "examplecomprod")
            const ids = idsIn(record)!
            assert.deepStrictEqual(ids, HitGenerator.idsOf(sim.options.seed, n))
            assert.isAbove(Number(ids.hitIdHigh), 2 ** 53)
          })
          const all = text.join("\n")
          assert.match(all, /site\u00ADhier/)
          assert.isTrue(
            [...all].some((c) => c.charCodeAt(0) > 127),
            "non-ASCII text"
          )
          // Empty records occur on the wire.
          const inflated = gunzipSync(reply.raw, { finishFlush: constants.Z_SYNC_FLUSH }).toString()
          assert.include(inflated, "\r\n\r\n")
        })
    )
  )

  it.live("maxConnections 4: four connections share the 8 partitions, a fifth gets 409, nothing lost", () =>
    withSimulator({ rate: Number.POSITIVE_INFINITY, totalHits: 600, emptyRecordRate: 0 }, (sim) =>
      Effect.gen(function* () {
        const headers = yield* credentials(sim)
        const url = `${sim.streamUrl()}?maxConnections=4`
        const replies = yield* Effect.all(
          Array.from({ length: 4 }, () => get(url, { headers, within: 2500 })),
          { concurrency: "unbounded" }
        )
        const extra = yield* get(url, { headers, within: 500 })
        assert.strictEqual(extra.status, 409)
        const parts = replies.map((r) => records(r.raw).map(indexOf))
        const union = [...new Set(parts.flat())].sort((a, b) => a - b)
        assert.deepStrictEqual(
          union,
          Array.from({ length: 600 }, (_, i) => i)
        )
        const log = yield* sim.log
        const streams = log.filter((a) => a.status === 200)
        assert.strictEqual(streams.length, 4)
        // Once all four had joined: two partitions each.
        const final = (yield* sim.assignments).filter((e) => e.cause === "join").at(-1)!
        assert.deepStrictEqual(
          final.assignment.map((m) => m.partitions.length),
          [2, 2, 2, 2]
        )
        // At every change, every partition was held by someone: none lost.
        for (const event of yield* sim.assignments) {
          assert.deepStrictEqual(
            event.assignment.flatMap((m) => m.partitions).sort(),
            [0, 1, 2, 3, 4, 5, 6, 7]
          )
        }
        // A hit delivered twice belongs to a partition that changed hands.
        const moved = new Set(
          log.flatMap((a) => (a.assignments.length > 1 ? a.assignments.flatMap((x) => x.partitions) : []))
        )
        const seen = new Set<number>()
        for (const n of parts.flat()) {
          if (seen.has(n))
            assert.isTrue(moved.has(HitGenerator.visitorOf(sim.options.seed, n) % 8), `hit ${n}`)
          seen.add(n)
        }
        const disagree = yield* get(`${sim.streamUrl()}?maxConnections=2`, { headers, within: 500 })
        // The four are gone, but still members during the grace period: still a conflict.
        assert.strictEqual(disagree.status, 409)
      })
    )
  )

  it.live(
    "grace period: a quick reconnect gets 409, one after the grace period is served and backfilled",
    () =>
      withSimulator(
        { rate: Number.POSITIVE_INFINITY, totalHits: 1000, gracePeriod: 400, backfillDuplicates: 5 },
        (sim) =>
          Effect.gen(function* () {
            const headers = yield* credentials(sim)
            yield* sim.setScenario([{ status: 200, after: 100, fault: "drop" }])
            const first = yield* get(sim.streamUrl(), { headers, within: 2000 })
            assert.strictEqual(first.ended, "aborted")
            const firstRecords = records(first.raw)
            assert.strictEqual(firstRecords.length, 100)
            const quick = yield* get(sim.streamUrl(), { headers, within: 500 })
            assert.strictEqual(quick.status, 409)
            assert.include(json(quick).error_description, "recently dropped")
            yield* Effect.sleep(450)
            const later = yield* get(sim.streamUrl(), { headers, records: 20, within: 2000 })
            assert.strictEqual(later.status, 200)
            const resumed = records(later.raw).map(indexOf)
            // Per partition, the last five hits again (the committed position lags what was
            // written), in order, then new ones.
            const partitionOf = (n: number) => HitGenerator.visitorOf(sim.options.seed, n) % 8
            const again = Array.from({ length: 8 }, (_, p) =>
              firstRecords
                .map(indexOf)
                .filter((n) => partitionOf(n) === p)
                .slice(-5)
            )
              .flat()
              .sort((a, b) => a - b)
            assert.deepStrictEqual(resumed.slice(0, again.length + 2), [...again, 100, 101])
            const log = yield* sim.settledLog
            assert.deepStrictEqual(
              log.map((a) => [a.status, a.end]),
              [
                [200, "dropped"],
                [409, "rejected"],
                [200, "client-closed"]
              ]
            )
            assert.strictEqual(log[2].duplicatesSent, again.length)
            assert.strictEqual(log[0].toIndex, 100)
          })
      )
  )

  it.live("reset=largest skips to the newest hits; reset=smallest replays the oldest retained", () =>
    withSimulator({ rate: 2000, gracePeriod: 0 }, (sim) =>
      Effect.gen(function* () {
        const headers = yield* credentials(sim)
        const first = yield* get(sim.streamUrl(), { headers, records: 50, within: 2000 })
        const firstLast = Math.max(...records(first.raw).map(indexOf))
        yield* Effect.sleep(300)
        const largest = yield* get(`${sim.streamUrl()}?reset=largest`, { headers, records: 5, within: 2000 })
        const skippedTo = records(largest.raw).map(indexOf)[0]
        assert.isAbove(skippedTo, firstLast + 200, "hits generated while away were skipped")
        const smallest = yield* get(`${sim.streamUrl()}?reset=earliest`, {
          headers,
          records: 5,
          within: 2000
        })
        assert.strictEqual(records(smallest.raw).map(indexOf)[0], 0)
      })
    )
  )

  it.live("redirects to the second listener, which serves only requests that carry the headers again", () =>
    withSimulator(
      { redirect: "always", redirectHost: "localhost", totalHits: 10, rate: Number.POSITIVE_INFINITY },
      (sim) =>
        Effect.gen(function* () {
          const headers = yield* credentials(sim)
          const redirect = yield* get(sim.streamUrl(), { headers })
          assert.strictEqual(redirect.status, 302)
          const location = redirect.headers.location!
          assert.match(location, /^http:\/\/localhost:\d+\/api\/1\/stream\/demo$/)
          const target = location.replace("localhost", "127.0.0.1")
          const withoutAuth = yield* get(target, {
            headers: { "accept-encoding": "gzip", "x-api-key": sim.clientId }
          })
          assert.strictEqual(withoutAuth.status, 401)
          const followed = yield* get(target, { headers, records: 10 })
          assert.strictEqual(followed.status, 200)
          assert.strictEqual(records(followed.raw).length, 10)
          const log = yield* sim.log
          assert.deepStrictEqual(
            log.map((a) => [a.listener, a.status, a.headers.authorization]),
            [
              ["main", 302, true],
              ["redirect", 401, false],
              ["redirect", 200, true]
            ]
          )
        })
    )
  )

  it.live("scripted faults: statuses, garbage bytes, truncated gzip, clean end, stall", () =>
    withSimulator({ rate: Number.POSITIVE_INFINITY, gracePeriod: 0 }, (sim) =>
      Effect.gen(function* () {
        const headers = yield* credentials(sim)
        yield* sim.setScenario([
          { status: 503 },
          { status: 409, description: "too many" },
          { status: 500 },
          { status: 401 },
          { status: 200, after: 30, fault: "garbage" },
          { status: 200, after: 30, fault: "truncate" },
          { status: 200, after: 30, fault: "end" },
          { status: 200, after: 30, fault: "stall" }
        ])
        for (const status of [503, 409, 500, 401]) {
          assert.strictEqual((yield* get(sim.streamUrl(), { headers })).status, status)
        }
        const garbage = yield* get(sim.streamUrl(), { headers, within: 2000 })
        assert.throws(() => gunzipSync(garbage.raw))
        const truncated = yield* get(sim.streamUrl(), { headers, within: 2000 })
        assert.strictEqual(truncated.ended, "end", "the HTTP body ends cleanly")
        assert.throws(() => gunzipSync(truncated.raw), /unexpected end/)
        assert.isAtLeast(records(truncated.raw).length, 30)
        const ended = yield* get(sim.streamUrl(), { headers, within: 2000 })
        assert.strictEqual(ended.ended, "end")
        assert.strictEqual(gunzipSync(ended.raw).toString().split("\r\n").filter(Boolean).length, 30)
        const stalled = yield* get(sim.streamUrl(), { headers, within: 800 })
        assert.strictEqual(stalled.ended, "stopped", "still open, sending nothing")
        assert.strictEqual(records(stalled.raw).length, 30)
        const log = yield* sim.settledLog
        assert.deepStrictEqual(
          log.map((a) => a.end),
          ["rejected", "rejected", "rejected", "rejected", "garbage", "truncated", "ended", "client-closed"]
        )
        assert.strictEqual(log[1].description, "too many")
      })
    )
  )

  it.live("no traffic: 503 at connect, or an open stream that sends nothing", () =>
    Effect.gen(function* () {
      yield* withSimulator({ rate: 0, noTraffic: "503" }, (sim) =>
        Effect.gen(function* () {
          const reply = yield* get(sim.streamUrl(), { headers: yield* credentials(sim) })
          assert.strictEqual(reply.status, 503)
        })
      )
      yield* withSimulator({ rate: 0, noTraffic: "silent" }, (sim) =>
        Effect.gen(function* () {
          const reply = yield* get(sim.streamUrl(), { headers: yield* credentials(sim), within: 600 })
          assert.deepStrictEqual([reply.status, reply.ended, records(reply.raw).length], [200, "stopped", 0])
        })
      )
    })
  )

  it.live("ground truth: the connection log and /_sim/sent over HTTP match what was received", () =>
    withSimulator({ rate: Number.POSITIVE_INFINITY, totalHits: 250 }, (sim) =>
      Effect.gen(function* () {
        const headers = yield* credentials(sim)
        const reply = yield* get(sim.streamUrl(), { headers, records: 250, within: 3000 })
        const received = records(reply.raw).map(idsIn)
        const sent = json(yield* get(`${sim.baseUrl}/_sim/sent`))
        assert.deepStrictEqual(
          sent.map((s: { hitIdHigh: string; hitIdLow: string }) => ({
            hitIdHigh: s.hitIdHigh,
            hitIdLow: s.hitIdLow
          })),
          received
        )
        const log = json(yield* get(`${sim.baseUrl}/_sim/log`))
        assert.strictEqual(log.length, 1)
        assert.strictEqual(log[0].hitsSent, 250)
        assert.deepStrictEqual(log[0].headers, {
          authorization: true,
          apiKey: true,
          acceptEncoding: "gzip",
          httpVersion: "1.1"
        })
      })
    )
  )
})
