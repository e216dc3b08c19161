// Scripted IMS faults, Retry-After, and smoothing, over real HTTP.
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
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
        const first = yield* tokenRequest(sim.tokenUrl())
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
        const slow = yield* tokenRequest(sim.tokenUrl())
        assert.strictEqual(slow.status, 200)
        assert.isAtLeast(slow.millis, 400)
        assert.strictEqual(JSON.parse(slow.body).token_type, "bearer")
        const html = yield* tokenRequest(sim.tokenUrl())
        assert.strictEqual(html.status, 200)
        assert.include(html.type, "text/html")
        assert.throws(() => JSON.parse(html.body))
        const scope = yield* tokenRequest(sim.tokenUrl())
        assert.deepStrictEqual(
          [scope.status, JSON.parse(scope.body)],
          [400, { error: "invalid_scope", error_description: "scope AdobeID is not allowed" }]
        )
        const failure = yield* tokenRequest(sim.tokenUrl())
        assert.strictEqual(failure.status, 500)
        const normal = yield* tokenRequest(sim.tokenUrl())
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
      withSimulator({ rate: 0, bursts: [{ at: 0, hits: 400 }], emptyRecordRate: 0 }, (sim) =>
        Effect.gen(function* () {
          const headers = yield* credentials(sim)
          const url = `${sim.streamUrl()}?smoothing=1&smoothingBucketSize=2`
          const reader = yield* Effect.forkChild(get(url, { headers, records: 400, within: 8000 }))
          // Half-way through the window, on the server's own clock (a slow connect on a loaded
          // machine must not count): some of the burst sent, never more than 0.2 hits a
          // millisecond allows. How many exactly is Traffic.smoothed's, tested directly in
          // Traffic.test.ts; over real HTTP on a loaded machine the server's writes can lag.
          let attempt = (yield* sim.log)[0]
          while (attempt === undefined || Date.now() - attempt.at < 1000) {
            yield* Effect.sleep(20)
            attempt = (yield* sim.log)[0]
          }
          const open = Date.now() - attempt.at
          const sent = attempt.hitsSent
          assert.isAtMost(sent, Math.ceil(open * 0.2) + 5, `${sent} hits in ${open} ms`)
          assert.isAbove(sent, 0, `already sending after ${open} ms`)
          assert.isBelow(sent, 400, "not all at once")
          // All of it, once the window has passed: spread out, none dropped.
          const reply = yield* Fiber.join(reader)
          assert.deepStrictEqual(
            records(reply.raw).map(indexOf),
            Array.from({ length: 400 }, (_, i) => i)
          )
          const [done] = yield* sim.log
          assert.isAtLeast(done.toIndex!, 400)
        })
      ),
    20_000
  )
})
