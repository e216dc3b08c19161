// Headless Chromium (Debian's `chromium`, installed by .ci/run) through playwright-core, as a
// scoped resource: a fresh profile, no network but loopback, closed with the scope.
import { Effect } from "effect"
import { existsSync, mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { type BrowserContext, chromium } from "playwright-core"

export const executablePath = process.env.HITSTREAM_CHROMIUM ?? "/usr/bin/chromium"

// Without the background-networking flags, Chromium stalls on a machine with no way out.
const args = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync"
]

export const browser = (viewport: { width: number; height: number }) =>
  Effect.acquireRelease(
    Effect.promise(async () => {
      if (!existsSync(executablePath)) {
        throw new Error(
          `no Chromium at ${executablePath}: install Debian's chromium package (.ci/run does), or point HITSTREAM_CHROMIUM at one`
        )
      }
      const profile = mkdtempSync(join(tmpdir(), "hitstream-chromium-"))
      const context = await chromium.launchPersistentContext(profile, {
        executablePath,
        headless: true,
        args,
        viewport,
        timeout: 60_000
      })
      return { context, profile }
    }),
    ({ context, profile }) =>
      Effect.promise(async () => {
        await context.close().catch(() => {})
        rmSync(profile, { recursive: true, force: true })
      })
  ).pipe(Effect.map(({ context }): BrowserContext => context))
