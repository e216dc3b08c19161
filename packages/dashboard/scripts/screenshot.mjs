// Saves a screenshot of a running dashboard (docs/dashboard.png comes from `npm start`):
//   npm start 2>demo.err &   # the first line of demo.err is the dashboard's URL
//   node packages/dashboard/scripts/screenshot.mjs http://127.0.0.1:8765/ docs/dashboard.png
// It waits until the page shows a reconnection (a gap in the timeline and the slot streaming
// again), then a few seconds more for the charts, and shoots the whole page at 1280 px wide.
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { chromium } from "playwright-core"

const [url, out = "dashboard.png", width = "1280", height = "800"] = process.argv.slice(2)
if (url === undefined) {
  console.error("usage: screenshot.mjs URL [OUT.png] [WIDTH] [HEIGHT]")
  process.exit(2)
}
const profile = mkdtempSync(join(tmpdir(), "hitstream-shot-"))
const context = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.HITSTREAM_CHROMIUM ?? "/usr/bin/chromium",
  headless: true,
  args: [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync"
  ],
  viewport: { width: Number(width), height: Number(height) }
})
try {
  const page = await context.newPage()
  page.on("console", (m) => m.type() === "error" && console.error(`page: ${m.text()}`))
  await page.goto(url)
  await page.waitForFunction(
    () =>
      document.querySelectorAll(".row .gap").length > 0 &&
      document.querySelector('.slot[data-state="streaming"]') !== null,
    undefined,
    { timeout: 90_000, polling: 250 }
  )
  await page.waitForTimeout(Number(process.env.SHOT_DELAY ?? 6000))
  await page.screenshot({ path: out, fullPage: true })
  console.error(`saved ${out}`)
} finally {
  await context.close()
  rmSync(profile, { recursive: true, force: true })
}
