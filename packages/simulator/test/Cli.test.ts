// `npm run simulate` (bin/simulate.ts), as a user starts it: ground truth and scenario files.
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { spawn } from "node:child_process"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { get, indexOf, json, records } from "./http.ts"
import { credentials } from "./support.ts"

const bin = fileURLToPath(new URL("../bin/simulate.ts", import.meta.url))

describe("npm run simulate", () => {
  it.live(
    "serves /_sim/sent, and plays a scenario file's token answers",
    () =>
      Effect.gen(function* () {
        const scenario = join(mkdtempSync(join(tmpdir(), "sim-")), "faults.json")
        writeFileSync(scenario, JSON.stringify({ ims: [{ status: 503, retryAfter: 1 }] }))
        const child = spawn(
          process.execPath,
          [
            "--conditions=@hitstream/source",
            bin,
            "--port",
            "0",
            "--rate",
            "max",
            "--total-hits",
            "50",
            "--scenario",
            scenario
          ],
          { stdio: ["ignore", "ignore", "pipe"] }
        )
        yield* Effect.addFinalizer(() => Effect.sync(() => child.kill("SIGKILL")))
        let stderr = ""
        child.stderr.on("data", (d) => (stderr += d))
        for (let i = 0; i < 300 && !stderr.includes("Ctrl-C"); i++) yield* Effect.sleep(50)
        assert.include(stderr, "1 scripted token answers")
        const url = /HITSTREAM_URL=(\S+)/.exec(stderr)![1]
        const tokenUrl = /HITSTREAM_TOKEN_URL=(\S+)/.exec(stderr)![1]
        const base = new URL(url).origin
        const refused = yield* Effect.promise(() => fetch(tokenUrl, { method: "POST", body: "" }))
        assert.deepStrictEqual([refused.status, refused.headers.get("retry-after")], [503, "1"])
        const headers = yield* credentials({
          tokenUrl: () => tokenUrl,
          clientId: "hitstream-demo",
          clientSecret: "demo-secret"
        })
        const reply = yield* get(url, { headers, records: 50, within: 10_000 })
        const received = records(reply.raw).map(indexOf)
        assert.strictEqual(received.length, 50)
        const sent = json(yield* get(`${base}/_sim/sent`)) as Array<{ index: number }>
        assert.deepStrictEqual(
          sent.map((s) => s.index),
          received
        )
        child.kill("SIGTERM")
        const code = yield* Effect.promise(() => new Promise((resolve) => child.on("close", resolve)))
        assert.strictEqual(code, 0)
      }),
    30_000
  )
})
