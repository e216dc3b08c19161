// The dashboard in a real browser, against the real client and the simulator.
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { browser } from "./browser.ts"
import { eventually, sentPages, withDashboard } from "./helpers.ts"

const minReconnectDelay = 8_000

describe("Dashboard in Chromium", () => {
  it.live(
    "shows the slot streaming, the drop with a countdown, the reconnection, charts with points, and the top pages of the ground truth",
    () =>
      withDashboard(
        { rate: 300, totalHits: 3_000 },
        { minReconnectDelay: `${minReconnectDelay}ms`, maxReconnectDelay: "10s", healthyAfter: "1m" },
        {},
        (sim, dashboard) =>
          Effect.gen(function* () {
            const context = yield* browser({ width: 1280, height: 800 })
            const page = yield* Effect.promise(() => context.newPage())
            const problems: Array<string> = []
            page.on("console", (message) => {
              if (message.type() === "error" || message.type() === "warning") problems.push(message.text())
            })
            page.on("pageerror", (error) => problems.push(String(error)))
            page.on("requestfailed", (request) => {
              // The event stream is cut when the page closes; anything else failing is a bug.
              if (!request.url().endsWith("/events")) problems.push(`request failed: ${request.url()}`)
            })
            const requests: Array<string> = []
            page.on("request", (request) => requests.push(request.url()))
            yield* Effect.promise(() => page.goto(dashboard.url))

            const slotState = () =>
              page.getAttribute('.slot[data-slot="0"]', "data-state", { timeout: 1_000 })
            yield* eventually("the slot to stream", 30_000, async () => {
              if (problems.length > 0) throw new Error(problems.join("; "))
              return (await slotState()) === "streaming" ? true : undefined
            })
            yield* eventually("the link to be live", 5_000, async () =>
              (await page.getAttribute("#link", "data-state")) === "live" ? true : undefined
            )

            // The simulator drops the connection: the page shows the wait and counts down.
            const dropped = yield* sim.dropConnections
            assert.strictEqual(dropped, 1)
            const countdowns: Array<string> = []
            yield* eventually("a countdown to the next attempt", 7_000, async () => {
              if ((await slotState()) !== "waiting") return undefined
              const text = await page.textContent('.slot[data-slot="0"] .countdown')
              return text !== null && /next attempt in [1-8] s/.test(text) ? countdowns.push(text) : undefined
            })
            yield* eventually("the countdown to move", 4_000, async () => {
              const text = await page.textContent('.slot[data-slot="0"] .countdown')
              return text !== null && text !== countdowns[0] && text.startsWith("next attempt in")
                ? true
                : undefined
            })
            yield* eventually("the reconnection", 15_000, async () =>
              (await slotState()) === "streaming" ? true : undefined
            )

            // The timeline shows the gap after the drop, not shorter than the minimum.
            const gap = yield* eventually("the gap in the timeline", 5_000, async () => {
              const gaps = await page.$$eval('.row[data-slot="0"] .gap', (nodes) =>
                nodes.map((n) => ({
                  short: n.classList.contains("short"),
                  title: n.getAttribute("title") ?? ""
                }))
              )
              return gaps.length === 1 ? gaps[0] : undefined
            })
            assert.isFalse(gap.short, gap.title)
            assert.match(gap.title, /gap of ([89]|1\d) s/)
            const spans = yield* Effect.promise(() =>
              page.$$eval('.row[data-slot="0"] .span', (nodes) => nodes.map((n) => n.className))
            )
            assert.includeMembers(spans, ["span streaming", "span waiting"])

            // Charts: uPlot drew them, with points.
            const points = yield* eventually("chart points", 5_000, async () => {
              const hits = Number(await page.getAttribute("#chart-hits", "data-points"))
              const lag = Number(await page.getAttribute("#chart-lag", "data-points"))
              return hits >= 3 && lag >= 3 ? { hits, lag } : undefined
            })
            assert.isAtLeast(points.hits, 3)
            assert.strictEqual(yield* Effect.promise(() => page.locator("#chart-hits canvas").count()), 1)
            assert.strictEqual(yield* Effect.promise(() => page.locator("#chart-lag canvas").count()), 1)

            // Every hit sent has arrived (the simulator stops at 3,000): the top pages match
            // the simulator's ground truth, counted from the hits it sent.
            yield* eventually("every hit", 20_000, async () => {
              const shown = (await page.textContent("#total-hits"))?.replaceAll(",", "")
              return shown === "3000" ? true : undefined
            })
            const truth = yield* sentPages(sim)
            assert.strictEqual(truth.total, 3_000)
            const table = yield* eventually("the top pages table", 5_000, async () => {
              const rows = await page.$$eval("#top-pages tbody tr", (nodes) =>
                nodes.map(
                  (n) => [n.getAttribute("data-key") ?? "", Number(n.getAttribute("data-count"))] as const
                )
              )
              return (await page.getAttribute("#top-total", "data-count")) === "3000" ? rows : undefined
            })
            // Most first; among equals, by name (as the dashboard ranks them).
            const expected = [...truth.counts]
              .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
              .slice(0, 10)
            assert.deepStrictEqual(table, expected)

            // The server cuts the event stream: the page reconnects by itself and catches up from
            // a fresh snapshot, without reloading.
            const origin = yield* Effect.promise(() => page.evaluate(() => performance.timeOrigin))
            assert.strictEqual(yield* dashboard.disconnect, 1)
            yield* eventually("the page to resume", 10_000, async () =>
              (await page.getAttribute("#link", "data-state")) === "live" &&
              (await page.getAttribute("#link", "data-snapshots")) === "2"
                ? true
                : undefined
            )
            assert.strictEqual(
              yield* Effect.promise(() => page.evaluate(() => performance.timeOrigin)),
              origin
            )
            assert.strictEqual((yield* dashboard.clients).watching, 1)

            // Phone width: nothing wider than the screen.
            yield* Effect.promise(() => page.setViewportSize({ width: 390, height: 844 }))
            // The charts take their new width when the page's resize handler has run: poll,
            // bounded, rather than measure the frame in between.
            const overflow = yield* Effect.promise(() =>
              page
                .waitForFunction("document.documentElement.scrollWidth - window.innerWidth <= 0", undefined, {
                  timeout: 5_000
                })
                .then(
                  () => 0,
                  () => page.evaluate<number>("document.documentElement.scrollWidth - window.innerWidth")
                )
            )
            assert.isAtMost(overflow, 0)

            assert.deepStrictEqual(problems, [])
            assert.isTrue(
              requests.every((url) => url.startsWith(dashboard.url)),
              `only the dashboard's own files: ${requests.join(", ")}`
            )
          })
      ),
    120_000
  )
})
