// The dashboard in the `hitstream` program: `demo` prints its address first and serves it;
// `run --dashboard-port` serves it, and a port in use is a setting error (exit 2).
import { assert, describe, it } from "@effect/vitest"
import { Simulator } from "@hitstream/simulator"
import { Effect } from "effect"
import { mkdtempSync, rmSync } from "node:fs"
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { run, start, until } from "./spawn.ts"

const summaryOf = (url: string) =>
  Effect.promise(async () => {
    const response = await fetch(new URL("events", url))
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader()
    let text = ""
    while (!text.includes("\n\n", text.indexOf("data:"))) {
      const { value, done } = await reader.read()
      if (done) break
      text += value
    }
    await reader.cancel()
    return JSON.parse(/^data: (.*)$/m.exec(text)![1])
  })

const stateDir = mkdtempSync(join(tmpdir(), "hitstream-dashboard-"))

describe("hitstream's dashboard", () => {
  it.live(
    "demo: the first line is the dashboard's address, and the page there shows the stream",
    () =>
      Effect.gen(function* () {
        const demo = start(["demo", "--duration", "12s", "--rate", "40", "--min-reconnect-delay", "2s"])
        yield* until(() => demo.stderr().includes("\n"), 30_000)
        const first = demo.stderr().split("\n")[0]
        const url = /^Dashboard: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(first)?.[1]
        assert.isDefined(url, first)
        const page = yield* Effect.promise(() => fetch(url!))
        assert.strictEqual(page.status, 200)
        assert.include(yield* Effect.promise(() => page.text()), "/assets/app.js")
        yield* until(() => demo.stderr().includes("streaming from"), 20_000)
        const summary = yield* summaryOf(url!)
        assert.strictEqual(summary.slots.length, 1)
        assert.include(["connecting", "streaming", "waiting"], summary.slots[0].state)
        const done = yield* demo.done
        assert.strictEqual(done.code, 0, done.stderr)
      }),
    60_000
  )

  it.live(
    "run --dashboard-port serves it beside the stream; a port in use exits 2 naming the flag",
    () =>
      Effect.gen(function* () {
        const sim = yield* Simulator.Simulator
        const free = yield* Effect.promise(
          () =>
            new Promise<number>((resolve) => {
              const probe = createServer().listen(0, "127.0.0.1", () => {
                const port = (probe.address() as AddressInfo).port
                probe.close(() => resolve(port))
              })
            })
        )
        const env = { HITSTREAM_CLIENT_SECRET: sim.clientSecret }
        const args = [
          "run",
          "--url",
          sim.streamUrl(),
          "--client-id",
          sim.clientId,
          "--token-url",
          sim.tokenUrl(),
          "--state-dir",
          stateDir,
          "--log-format",
          "json"
        ]
        const running = start([...args, "--duration", "20s"], {
          ...env,
          HITSTREAM_DASHBOARD_PORT: String(free)
        })
        yield* until(() => running.stderr().includes("dashboard on"), 30_000)
        assert.include(running.stderr(), `dashboard on http://127.0.0.1:${free}/`)
        yield* until(() => running.stdout().split("\n").length > 20, 20_000)
        const summary = yield* summaryOf(`http://127.0.0.1:${free}/`)
        assert.isAbove(summary.totals.hits, 0)
        assert.isAbove(summary.top.total, 0, "the hits written are counted")

        // The port is now taken: a second process refuses to start.
        const second = yield* run([...args, "--dashboard-port", String(free), "--limit", "1"], env)
        assert.strictEqual(second.code, 2, second.stderr)
        assert.include(second.stderr, `--dashboard-port ${free}: address already in use`)
        running.child.kill("SIGTERM")
        const stopped = yield* running.done
        assert.strictEqual(stopped.code, 0, stopped.stderr)
      }).pipe(
        Effect.ensuring(Effect.sync(() => rmSync(stateDir, { recursive: true, force: true }))),
        Effect.provide(Simulator.layer({ rate: 50, gracePeriod: 200 }))
      ),
    90_000
  )
})
