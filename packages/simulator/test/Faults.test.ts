// Scripted IMS faults, Retry-After, and smoothing, over real HTTP.
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { get, indexOf, json, records } from "./http.ts"
import { credentials, withSimulator } from "./support.ts"

const tokenRequest = (tokenUrl: string) =>
  Effect.promise(async () => {
    const started = performance.now()
    const r = await fetch(tokenUrl, {
      method: "POST",
      body: new URLSearchParams({
        grant_type: "client_credentials",
        client_id: "hitstream-demo",
        client_secret: "demo-secret"
      })
    })
    return {
      status: r.status,
      type: r.headers.get("content-type") ?? "",
      retryAfter: r.headers.get("retry-after"),
      body: await r.text(),
      millis: performance.now() - started
    }
  })

describe("Simulator: scripted faults", () => {
  it.live("IMS: a 5xx with Retry-After, a slow answer, a non-JSON 200, 400 invalid_scope, then normal", () =>
    withSimulator({ imsScenario: [{ status: 503, retryAfter: 2 }] }, (sim) =>
      Effect.gen(function* () {
        const first = yield* tokenRequest(sim.tokenUrl)
        assert.deepStrictEqual(
          [first.status, first.retryAfter, JSON.parse(first.body).error],
          [503, "2", "server_error"]
        )
        yield* sim.setImsScenario([
          { delay: 400 },
          { fault: "non-json" },
          { status: 400, error: "invalid_scope", description: "scope AdobeID is not allowed" },
          { status: 500 }
        ])
        const slow = yield* tokenRequest(sim.tokenUrl)
        assert.strictEqual(slow.status, 200)
        assert.isAtLeast(slow.millis, 400)
        assert.strictEqual(JSON.parse(slow.body).token_type, "bearer")
        const html = yield* tokenRequest(sim.tokenUrl)
        assert.strictEqual(html.status, 200)
        assert.include(html.type, "text/html")
        assert.throws(() => JSON.parse(html.body))
        const scope = yield* tokenRequest(sim.tokenUrl)
        assert.deepStrictEqual(
          [scope.status, JSON.parse(scope.body)],
          [400, { error: "invalid_scope", error_description: "scope AdobeID is not allowed" }]
        )
        const failure = yield* tokenRequest(sim.tokenUrl)
        assert.strictEqual(failure.status, 500)
        const normal = yield* tokenRequest(sim.tokenUrl)
        assert.strictEqual(normal.status, 200)
        assert.deepStrictEqual(
          (yield* sim.tokenRequests).map((r) => [r.status, r.scripted]),
          [
            [503, true],
            [200, false],
            [200, true],
            [400, true],
            [500, true],
            [200, false]
          ]
        )
      })
    )
  )

  it.live("stream: scripted 429 and 503 carry Retry-After, in seconds or as an HTTP date", () =>
    withSimulator({}, (sim) =>
      Effect.gen(function* () {
        const headers = yield* credentials(sim)
        const date = "Wed, 21 Oct 2026 07:28:00 GMT"
        yield* sim.setScenario([
          { status: 429, retryAfter: 30 },
          { status: 503, retryAfter: date },
          { status: 503 }
        ])
        const a = yield* get(sim.streamUrl(), { headers })
        const b = yield* get(sim.streamUrl(), { headers })
        const c = yield* get(sim.streamUrl(), { headers })
        assert.deepStrictEqual(
          [a, b, c].map((r) => [r.status, r.headers["retry-after"]]),
          [
            [429, "30"],
            [503, date],
            [503, undefined]
          ]
        )
        assert.strictEqual(json(a).error_description, "scripted 429")
      })
    )
  )

  it.live(
    "smoothing: a burst is spread over smoothingBucketSize seconds, none dropped",
    () =>
      withSimulator({ rate: 0, bursts: [{ at: 0, hits: 400 }], emptyRecordRate: 0, gracePeriod: 0 }, (sim) =>
        Effect.gen(function* () {
          const headers = yield* credentials(sim)
          const url = `${sim.streamUrl()}?smoothing=1&smoothingBucketSize=2`
          const start = performance.now()
          const early = yield* get(url, { headers, within: 500 })
          const elapsed = performance.now() - start
          assert.strictEqual(early.status, 200, early.raw.toString())
          const received = records(early.raw).length
          // Released by then: 400 * elapsed / 2 s (the first read waits for the token and connect too).
          assert.isAtMost(received, Math.ceil((400 * elapsed) / 2000) + 20, `${received} after ${elapsed} ms`)
          assert.isAtLeast(received, 20, "delivery started")
          // The rest arrives over the remaining window; all of it, once the window has passed.
          const rest = yield* get(url, { headers, within: 2500 })
          const all = new Set([...records(early.raw), ...records(rest.raw)].map(indexOf))
          assert.strictEqual(all.size, 400)
        })
      ),
    20_000
  )
})
