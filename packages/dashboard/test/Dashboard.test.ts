import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { request } from "node:http"
import { Dashboard } from "../src/index.ts"
import { eventually, withDashboard } from "./helpers.ts"

const client = { minReconnectDelay: "2s", maxReconnectDelay: "3s", healthyAfter: "1m" }

/** A raw GET (fetch would not let a test send its own Host header). */
const get = (url: string, options: { method?: string; host?: string } = {}) =>
  Effect.promise(
    () =>
      new Promise<{ status: number; headers: Record<string, unknown>; body: string }>((resolve, reject) => {
        const req = request(
          url,
          {
            method: options.method ?? "GET",
            headers: options.host === undefined ? {} : { host: options.host }
          },
          (res) => {
            let body = ""
            res.setEncoding("utf8")
            res.on("data", (chunk: string) => (body += chunk))
            res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }))
          }
        )
        req.on("error", reject)
        req.end()
      })
  )

/** Reads /events until `count` events arrived, then hangs up. */
const events = (url: string, count: number) =>
  Effect.promise(async () => {
    const controller = new AbortController()
    const response = await fetch(new URL("events", url), { signal: controller.signal })
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader()
    let text = ""
    const started = performance.now()
    while (text.split("\n\n").filter((e) => e.includes("data:")).length < count) {
      const { value, done } = await reader.read()
      if (done) break
      text += value
    }
    controller.abort()
    const parsed = text
      .split("\n\n")
      .filter((e) => e.includes("data:"))
      .map((e) => {
        const kind = /^event: (.*)$/m.exec(e)?.[1]
        const data = /^data: (.*)$/m.exec(e)?.[1] ?? ""
        return { kind, raw: data, summary: JSON.parse(data) }
      })
    return { headers: response.headers, events: parsed, millis: performance.now() - started }
  })

describe("Dashboard over HTTP", () => {
  it.live(
    "serves the page with a CSP, streams a snapshot then at most one tick a second, no secret in any, read-only, loopback only",
    () =>
      withDashboard({ rate: 2_000 }, client, {}, (sim, dashboard) =>
        Effect.gen(function* () {
          assert.match(dashboard.url, /^http:\/\/127\.0\.0\.1:\d+\/$/)
          const page = yield* get(dashboard.url)
          assert.strictEqual(page.status, 200)
          assert.strictEqual(page.headers["content-security-policy"], Dashboard.contentSecurityPolicy)
          assert.match(page.body, /<script src="\/assets\/app\.js"/)
          assert.notMatch(page.body, /https?:\/\//, "the page loads nothing from elsewhere")
          for (const asset of ["app.js", "app.css", "uPlot.iife.min.js", "uPlot.min.css", "favicon.svg"]) {
            const response = yield* get(new URL(`assets/${asset}`, dashboard.url).href)
            assert.strictEqual(response.status, 200, asset)
            assert.isAbove(response.body.length, 100, asset)
          }

          // 2,000 hits a second, and still one message a second.
          const { headers, events: received, millis } = yield* events(dashboard.url, 4)
          assert.strictEqual(headers.get("content-type"), "text/event-stream")
          assert.strictEqual(headers.get("content-security-policy"), Dashboard.contentSecurityPolicy)
          assert.deepStrictEqual(
            received.map((e) => e.kind),
            ["snapshot", "tick", "tick", "tick"]
          )
          assert.isAtLeast(millis, 1_900, "three ticks take at least two seconds")
          const last = received.at(-1)!.summary
          assert.isAbove(last.totals.hits, 1_000)
          assert.strictEqual(last.slots[0].state, "streaming")
          assert.isAbove(last.points.at(-1).hits + last.points.at(-2).hits, 0)
          for (const e of received) {
            assert.notInclude(e.raw, sim.clientSecret)
            assert.notMatch(e.raw, /access_token|bearer/i)
          }

          // The browser hung up: it is forgotten.
          yield* eventually("the browser to be forgotten", 3_000, async () =>
            Effect.runSync(dashboard.clients).watching === 0 ? true : undefined
          )

          // Read-only, and a page on another host name (DNS rebinding) gets nothing.
          assert.strictEqual((yield* get(dashboard.url, { method: "POST" })).status, 404)
          assert.strictEqual((yield* get(dashboard.url, { host: "attacker.example:80" })).status, 421)
          const rebound = yield* get(new URL("events", dashboard.url).href, { host: "attacker.example" })
          assert.strictEqual(rebound.status, 421)
          assert.strictEqual((yield* get(dashboard.url, { host: "localhost:1" })).status, 200)

          // The layer's logger keeps the client's malformed-record warnings for the page.
          yield* Effect.logWarning("slot 0: skipped a malformed record (InvalidJson): Unexpected end", {
            preview: '{"hitIdHigh": 12',
            length: 16
          }).pipe(Effect.annotateLogs({ slot: 0 }))
          const summary = yield* dashboard.summary("tick")
          assert.deepStrictEqual(
            summary.malformed.map((m) => [m.slot, m.reason, m.preview]),
            [[0, "InvalidJson", '{"hitIdHigh": 12']]
          )
        })
      ),
    30_000
  )
})
