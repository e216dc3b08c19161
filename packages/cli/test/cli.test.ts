import { assert, describe, it } from "@effect/vitest"
import { HitGenerator } from "@hitstream/simulator"
import { Effect } from "effect"
import { readdirSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { connect, run, type Sim, start, tmp, until, withSim } from "./spawn.ts"

/** Each stdout line must be the simulator's record, byte for byte. */
const checkRecords = (sim: Sim, lines: ReadonlyArray<string>) => {
  lines.forEach((line, i) => {
    const timeGMT = Number(/"timeGMT":(\d+)/.exec(line)![1])
    assert.strictEqual(line, HitGenerator.generate(sim.options.seed, i, timeGMT).text, `line ${i}`)
  })
}

describe("hitstream (the binary)", () => {
  it.live(
    "run: stdout is the simulator's records byte for byte, each once, across scripted drops; --limit exits 0",
    () =>
      withSim(
        {
          rate: Number.POSITIVE_INFINITY,
          scenario: [
            { status: 200, after: 120, fault: "drop" },
            { status: 503 },
            { status: 200, after: 90, fault: "truncate" }
          ]
        },
        (sim) =>
          Effect.gen(function* () {
            const { args, env } = connect(sim)
            const result = yield* run(["run", ...args, "--limit", "500"], env)
            assert.strictEqual(result.code, 0, result.stderr)
            const lines = result.stdout.split("\n").filter(Boolean)
            assert.strictEqual(lines.length, 500)
            checkRecords(sim, lines)
            const log = yield* sim.log
            assert.deepStrictEqual(
              log.slice(0, 4).map((a) => a.status),
              [200, 503, 200, 200]
            )
            // The secret and the tokens never show.
            for (const out of [result.stdout, result.stderr]) {
              assert.notInclude(out, "s3cr3t-Value-42")
              assert.notMatch(out, /sim\.[A-Za-z0-9_-]{20,}/)
            }
          })
      ),
    60_000
  )

  it.live(
    "--format json writes ids as exact decimal strings",
    () =>
      withSim({ rate: Number.POSITIVE_INFINITY }, (sim) =>
        Effect.gen(function* () {
          const { args, env } = connect(sim)
          const result = yield* run(["run", ...args, "--limit", "5", "--format", "json"], env)
          assert.strictEqual(result.code, 0, result.stderr)
          const first = JSON.parse(result.stdout.split("\n")[0])
          assert.strictEqual(first.hitIdHigh, HitGenerator.idsOf(sim.options.seed, 0).hitIdHigh)
        })
      ),
    30_000
  )

  it.live(
    "exit codes: 2 for configuration errors (naming option, value, range), 3 for fatal API errors",
    () =>
      withSim({}, (sim) =>
        Effect.gen(function* () {
          const { args, env } = connect(sim)
          const bad = yield* run(["run", ...args, "--max-connections", "9"], env)
          assert.strictEqual(bad.code, 2)
          assert.match(bad.stderr, /--max-connections \(or HITSTREAM_MAX_CONNECTIONS\) is "?9"?.*1 to 8/)
          const noSecret = yield* run(["run", ...args], { ...env, HITSTREAM_CLIENT_SECRET: "" })
          assert.strictEqual(noSecret.code, 2)
          assert.include(noSecret.stderr, "HITSTREAM_CLIENT_SECRET")
          const bogus = yield* run(["run", "--bogus"], env)
          assert.strictEqual(bogus.code, 2, "an unknown flag is a usage error")
          assert.include(bogus.stderr, "--bogus")
          const sink = yield* run(["run", ...args, "--sink", "kafka:x"], env)
          assert.strictEqual(sink.code, 2)
          assert.include(sink.stderr, "file:PATH")
          const missing = yield* run(
            ["run", ...args.map((a) => (a === sim.streamUrl() ? sim.streamUrl("gone") : a))],
            env
          )
          assert.strictEqual(missing.code, 3)
          assert.include(missing.stderr, "90 days")
          const wrongSecret = yield* run(["run", ...args], { ...env, HITSTREAM_CLIENT_SECRET: "wrong" })
          assert.strictEqual(wrongSecret.code, 3)
          assert.include(wrongSecret.stderr, "IMS refused")
          assert.notInclude(wrongSecret.stderr, "wrong")
        })
      ),
    60_000
  )

  it.live(
    "enable: a 424 says to run it; it enables the stream; run then streams",
    () =>
      withSim({ rate: Number.POSITIVE_INFINITY }, (sim) =>
        Effect.gen(function* () {
          const v2 = (a: string) => (a === sim.streamUrl() ? sim.streamUrl("demo", 2) : a)
          const first = connect(sim)
          const refused = yield* run(["run", ...first.args.map(v2)], first.env)
          assert.strictEqual(refused.code, 3)
          assert.include(refused.stderr, "hitstream enable")
          const enabled = yield* run(["enable", ...first.args.map(v2)], first.env)
          assert.strictEqual(enabled.code, 0, enabled.stderr)
          assert.include(enabled.stdout, "15 minutes")
          const second = connect(sim)
          const streamed = yield* run(["run", ...second.args.map(v2), "--limit", "3"], second.env)
          assert.strictEqual(streamed.code, 0, streamed.stderr)
          assert.strictEqual(streamed.stdout.split("\n").filter(Boolean).length, 3)
        })
      ),
    30_000
  )

  it.live(
    "precedence: flags over environment over the config file over defaults",
    () =>
      withSim({ rate: Number.POSITIVE_INFINITY }, (sim) =>
        Effect.gen(function* () {
          const { args, env } = connect(sim)
          const dir = tmp()
          const config = join(dir, "hitstream.yaml")
          writeFileSync(config, "format: json\nmaxConnections: 9\n")
          // The file says maxConnections 9 (invalid); the environment overrides it with 1.
          const fromFile = yield* run(["run", ...args, "--config", config, "--limit", "1"], {
            ...env,
            HITSTREAM_MAX_CONNECTIONS: "1"
          })
          assert.strictEqual(fromFile.code, 0, fromFile.stderr)
          assert.match(fromFile.stdout, /"hitIdHigh":"\d+"/, "format json from the file")
          const fromEnv = yield* run(["run", ...args, "--config", config, "--limit", "1"], {
            ...env,
            HITSTREAM_MAX_CONNECTIONS: "1",
            HITSTREAM_FORMAT: "raw"
          })
          assert.match(fromEnv.stdout, /"hitIdHigh":\d+/, "format raw from the environment")
          const fromFlag = yield* run(
            [
              "run",
              ...args,
              "--config",
              config,
              "--limit",
              "1",
              "--format",
              "json",
              "--max-connections",
              "1"
            ],
            {
              ...env,
              HITSTREAM_FORMAT: "raw"
            }
          )
          assert.match(fromFlag.stdout, /"hitIdHigh":"\d+"/, "format json from the flag")
          const fileOnly = yield* run(["run", ...args, "--config", config, "--limit", "1"], env)
          assert.strictEqual(fileOnly.code, 2, "the file's invalid value is reported")
          assert.include(fileOnly.stderr, "--max-connections (or HITSTREAM_MAX_CONNECTIONS)")
        })
      ),
    60_000
  )

  it.live(
    "restart-safe spacing: after kill -9, a restart waits the minimum before reconnecting",
    () =>
      withSim({ rate: 50 }, (sim) =>
        Effect.gen(function* () {
          const state = tmp()
          const { args, env } = connect(sim, state)
          const first = start(["run", ...args], {
            ...env,
            HITSTREAM_MIN_RECONNECT_DELAY: "3s",
            HITSTREAM_MAX_RECONNECT_DELAY: "5s"
          })
          yield* until(() => first.stdout().split("\n").length > 5 || first.child.exitCode !== null)
          first.child.kill("SIGKILL")
          yield* first.done
          const second = start(["run", ...args, "--limit", "3"], {
            ...env,
            HITSTREAM_MIN_RECONNECT_DELAY: "3s",
            HITSTREAM_MAX_RECONNECT_DELAY: "5s"
          })
          const result = yield* second.done
          assert.strictEqual(result.code, 0, result.stderr)
          assert.include(result.stderr, "stopped without closing it; waiting the full 3 s minimum")
          const log = yield* sim.log
          assert.strictEqual(log.length, 2)
          const gap = log[1].at - log[0].endedAt!
          assert.isAtLeast(gap, 2_900, `reconnected ${gap} ms after the killed connection ended`)
        })
      ),
    60_000
  )

  it.live.each([
    ["SIGTERM", [] as Array<string>],
    ["--limit", ["--limit", "20"]],
    ["--duration", ["--duration", "2s"]]
  ] as const)(
    "a clean stop (%s) journals a real end: a restart waits only the rest of the minimum",
    ([how, flags]) =>
      withSim({ rate: 50 }, (sim) =>
        Effect.gen(function* () {
          const state = tmp()
          const { args, env } = connect(sim, state)
          // Long enough that the restart (node's start-up included) comes well inside it.
          const spacing = { ...env, HITSTREAM_MIN_RECONNECT_DELAY: "8s", HITSTREAM_MAX_RECONNECT_DELAY: "9s" }
          const first = start(["run", ...args, ...flags], spacing)
          if (how === "SIGTERM") {
            yield* until(() => first.stdout().split("\n").length > 5 || first.child.exitCode !== null)
            first.child.kill("SIGTERM")
          }
          const stopped = yield* first.done
          assert.strictEqual(stopped.code, 0, stopped.stderr)
          const journal = readdirSync(state).filter((f) => f.endsWith(".slot-0.json"))
          assert.strictEqual(journal.length, 1)
          const entry = JSON.parse(readFileSync(join(state, journal[0]), "utf8"))
          assert.isFalse(entry.alive, "an end, not a heartbeat")
          const result = yield* run(["run", ...args, "--limit", "3"], spacing)
          assert.strictEqual(result.code, 0, result.stderr)
          // After a heartbeat (kill -9) it would wait the full minimum, whatever the time since.
          assert.notInclude(result.stderr, "without closing it")
          // A slow start-up may have used up the rest of the minimum already.
          const waited = /before a restart; waiting out the 8 s minimum, (\d+) s to go/.exec(result.stderr)
          if (waited !== null) assert.isBelow(Number(waited[1]), 8, "only the rest of the minimum")
          const log = yield* sim.log
          assert.strictEqual(log.length, 2)
          const gap = log[1].at - log[0].endedAt!
          assert.isAtLeast(gap, 7_900, `reconnected ${gap} ms after the stopped connection ended`)
        })
      ),
    60_000
  )

  it.live(
    "SIGTERM drains: every hit delivered before the signal is in the file, then exit 0",
    () =>
      withSim({ rate: 100 }, (sim) =>
        Effect.gen(function* () {
          const dir = tmp()
          const file = join(dir, "hits.ndjson")
          const { args, env } = connect(sim)
          const child = start(["run", ...args, "--sink", `file:${file}`], env)
          yield* until(() => child.stderr().includes("streaming"))
          yield* Effect.sleep(1500)
          const before = (yield* sim.log)[0].hitsSent
          child.child.kill("SIGTERM")
          const result = yield* child.done
          assert.strictEqual(result.code, 0, result.stderr)
          const lines = readFileSync(file, "utf8").split("\n").filter(Boolean)
          assert.isAtLeast(lines.length, before)
          assert.isAbove(before, 50)
          checkRecords(sim, lines)
        })
      ),
    60_000
  )

  it.live(
    "demo (npm start): hits flow, a scripted drop, the spacing waited out, nothing lost",
    () =>
      Effect.gen(function* () {
        const result = yield* run(["demo", "--duration", "7s", "--rate", "60", "--min-reconnect-delay", "1s"])
        assert.strictEqual(result.code, 0, result.stderr)
        assert.isAbove(result.stdout.split("\n").filter(Boolean).length, 200)
        assert.include(result.stderr, "shortened for the demo")
        // A 1s spacing is inside the simulated load balancer's 3s grace period, so a 409 may come
        // first: the very reason for the 60-second rule. Either way nothing is lost or repeated.
        assert.match(
          result.stderr,
          /missing: 0, delivered twice: 0\); \d connection attempts: 200, (409, )*200/
        )
      }),
    30_000
  )

  it.live(
    "simulate prints the URL and credentials a client needs, and plays a YAML scenario",
    () =>
      Effect.gen(function* () {
        const scenario = join(tmp(), "faults.yaml")
        writeFileSync(scenario, "steps:\n  - { status: 503, description: scripted outage }\n")
        const sim = start(["simulate", "--port", "0", "--rate", "10", "--scenario", scenario])
        yield* until(() => sim.stderr().includes("Ctrl-C"))
        const url = /HITSTREAM_URL=(\S+)/.exec(sim.stderr())![1]
        const tokenUrl = /HITSTREAM_TOKEN_URL=(\S+)/.exec(sim.stderr())![1]
        const reply = yield* Effect.promise(async () => {
          const t = await fetch(tokenUrl, {
            method: "POST",
            body: new URLSearchParams({
              grant_type: "client_credentials",
              client_id: "hitstream-demo",
              client_secret: "demo-secret"
            })
          }).then((r) => r.json() as Promise<{ access_token: string }>)
          const r = await fetch(url, {
            headers: { authorization: `Bearer ${t.access_token}`, "x-api-key": "hitstream-demo" }
          })
          return { status: r.status, body: await r.text() }
        })
        sim.child.kill("SIGTERM")
        const done = yield* sim.done
        assert.strictEqual(done.code, 0)
        assert.match(sim.stderr(), /HITSTREAM_URL=http:\/\/127\.0\.0\.1:\d+\/api\/1\/stream\/demo/)
        assert.include(sim.stderr(), "HITSTREAM_CLIENT_SECRET=demo-secret")
        assert.deepStrictEqual(
          [reply.status, JSON.parse(reply.body).error_description],
          [503, "scripted outage"]
        )
      }),
    30_000
  )

  it.live(
    "--metrics-port serves Prometheus metrics and /healthz",
    () =>
      withSim({ rate: 100 }, (sim) =>
        Effect.gen(function* () {
          const { args, env } = connect(sim)
          const port = 19_000 + Math.floor(Math.random() * 1000)
          const child = start(["run", ...args, "--metrics-port", String(port)], env)
          yield* until(() => child.stdout().split("\n").length > 20)
          const metrics = yield* Effect.promise(() =>
            fetch(`http://127.0.0.1:${port}/metrics`).then((r) => r.text())
          )
          const health = yield* Effect.promise(() =>
            fetch(`http://127.0.0.1:${port}/healthz`).then(async (r) => ({
              status: r.status,
              body: await r.json()
            }))
          )
          child.child.kill("SIGTERM")
          yield* child.done
          assert.match(metrics, /hitstream_hits_total\S* \d+/)
          assert.include(metrics, "hitstream_bytes_total")
          // Counted as the attempt started, while the first connection is still open.
          assert.match(metrics, /hitstream_connection_attempts_total\S* 1\b/)
          assert.strictEqual(health.status, 200)
          assert.deepInclude(health.body, { ok: true, problems: [] })
        })
      ),
    30_000
  )

  it.live(
    "--help lists every option of run",
    () =>
      Effect.gen(function* () {
        const help = yield* run(["run", "--help"])
        assert.strictEqual(help.code, 0)
        for (const flag of [
          "--url",
          "--client-id",
          "--client-secret-file",
          "--token-url",
          "--scopes",
          "--access-token-file",
          "--max-connections",
          "--connections",
          "--reset",
          "--smoothing",
          "--smoothing-bucket-size",
          "--min-reconnect-delay",
          "--max-reconnect-delay",
          "--stall-timeout",
          "--trusted-redirect-hosts",
          "--dedup-capacity",
          "--sink",
          "--format",
          "--limit",
          "--duration",
          "--state-dir",
          "--metrics-port",
          "--log-level",
          "--log-format",
          "--config"
        ]) {
          assert.include(help.stdout + help.stderr, flag)
        }
        assert.notInclude(help.stdout, "--client-secret ", "no plain secret flag")
      }),
    30_000
  )
})
