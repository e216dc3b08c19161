// `hitstream run --fleet/--sink nats://…` refusals, as a user sees them (the full fleet run is
// packages/nats/test/Fleet.integration.test.ts).
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { mkdtempSync } from "node:fs"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { run } from "./spawn.ts"

const base = ["run", "--url", "http://127.0.0.1:9/api/1/stream/demo", "--client-id", "id"]
const env = { HITSTREAM_CLIENT_SECRET: "secret" }

// A loopback port with nothing listening on it.
const closedPort = Effect.promise(
  () =>
    new Promise<number>((resolve) => {
      const server = createServer()
      server.listen(0, "127.0.0.1", () => {
        const port = (server.address() as { port: number }).port
        server.close(() => resolve(port))
      })
    })
)

describe("hitstream run with NATS", () => {
  it.live(
    "refuses credentials in a NATS URL without echoing them (exit 2)",
    () =>
      Effect.gen(function* () {
        const result = yield* run([...base, "--sink", "nats://alice:pa55word@127.0.0.1:4222/HITS"], env)
        assert.strictEqual(result.code, 2, result.stderr)
        assert.include(result.stderr, "HITSTREAM_NATS_CREDS")
        assert.notInclude(result.stderr + result.stdout, "pa55word")
      }),
    60_000
  )

  it.live(
    "names the sink setting that is wrong (exit 2)",
    () =>
      Effect.gen(function* () {
        const result = yield* run([...base, "--sink", "nats://127.0.0.1:4222?replicas=3"], env)
        assert.strictEqual(result.code, 2, result.stderr)
        assert.include(result.stderr, "needs a stream name")
      }),
    60_000
  )

  it.live(
    "says which creds file it cannot read (exit 2), and that NATS is out of reach (exit 1)",
    () =>
      Effect.gen(function* () {
        const port = yield* closedPort
        const missing = yield* run(
          [...base, "--fleet", `nats://127.0.0.1:${port}`, "--nats-creds-file", "/nonexistent/nats.creds"],
          env
        )
        assert.strictEqual(missing.code, 2, missing.stderr)
        assert.include(missing.stderr, "/nonexistent/nats.creds")
        const dir = mkdtempSync(join(tmpdir(), "hitstream-nats-"))
        const unreachable = yield* run([...base, "--fleet", `nats://127.0.0.1:${port}`], {
          ...env,
          HITSTREAM_STATE_DIR: join(dir, "s")
        })
        assert.strictEqual(unreachable.code, 1, unreachable.stderr)
        assert.include(unreachable.stderr, `cannot connect to NATS at 127.0.0.1:${port}`)
      }),
    60_000
  )
})
