// The production network path, replayed against the binary: the simulator over TLS with a CA
// made for the test, certificates that must not verify (exit 3, nothing retried, nothing sent),
// and a real proxy (Debian's tinyproxy) with and without credentials.
import { assert, describe, it } from "@effect/vitest"
import { HitGenerator, Simulator, Tls } from "@hitstream/simulator"
import { Effect } from "effect"
import { execFileSync, spawn } from "node:child_process"
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import * as Net from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { connect as connectSim, run, start, until } from "./spawn.ts"

type Sim = Simulator.Simulator["Service"]

const tmp = () => mkdtempSync(join(tmpdir(), "hitstream-net-"))
const secret = "s3cr3t-Value-42"

const withSim = <A, E>(options: Partial<Simulator.Options>, f: (sim: Sim) => Effect.Effect<A, E>) =>
  Effect.gen(function* () {
    return yield* f(yield* Simulator.Simulator)
  }).pipe(
    Effect.provide(
      Simulator.layer({
        gracePeriod: 200,
        clientSecret: secret,
        rate: Number.POSITIVE_INFINITY,
        ...options
      })
    )
  )

/** `connect` from spawn.ts, with variables of the test's own (a proxy) on top. */
const connect = (
  sim: Pick<Sim, "streamUrl" | "clientId" | "tokenUrl" | "clientSecret">,
  env: Record<string, string> = {}
) => {
  const base = connectSim(sim)
  return { args: base.args, env: { ...base.env, ...env } }
}

const records = (stdout: string) => stdout.split("\n").filter(Boolean)

const checkRecords = (seed: number, lines: ReadonlyArray<string>) =>
  lines.forEach((line, i) => {
    const timeGMT = Number(/"timeGMT":(\d+)/.exec(line)![1])
    assert.strictEqual(line, HitGenerator.generate(seed, i, timeGMT).text, `line ${i}`)
  })

const hasTinyproxy = (() => {
  try {
    execFileSync("tinyproxy", ["-v"], { stdio: "ignore" })
    return true
  } catch {
    return false
  }
})()

const freePort = () =>
  Effect.promise(
    () =>
      new Promise<number>((resolve) => {
        const server = Net.createServer().listen(0, "127.0.0.1", () => {
          const port = (server.address() as Net.AddressInfo).port
          server.close(() => resolve(port))
        })
      })
  )

const accepts = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = Net.connect(port, "127.0.0.1")
    socket.once("connect", () => {
      socket.destroy()
      resolve(true)
    })
    socket.once("error", () => resolve(false))
  })

/** A tinyproxy on a free loopback port for the scope; its log file to read. */
const tinyproxy = (auth?: { user: string; password: string }) =>
  Effect.gen(function* () {
    const port = yield* freePort()
    const dir = tmp()
    const log = join(dir, "tinyproxy.log")
    writeFileSync(
      join(dir, "tinyproxy.conf"),
      [
        `Port ${port}`,
        `Listen 127.0.0.1`,
        `Timeout 60`,
        `LogFile "${log}"`,
        `LogLevel Connect`,
        `PidFile "${join(dir, "tinyproxy.pid")}"`,
        `MaxClients 20`,
        `Allow 127.0.0.1`,
        ...(auth ? [`BasicAuth ${auth.user} ${auth.password}`] : [])
      ].join("\n")
    )
    const child = yield* Effect.acquireRelease(
      Effect.sync(() => spawn("tinyproxy", ["-d", "-c", join(dir, "tinyproxy.conf")], { stdio: "ignore" })),
      (child) => Effect.sync(() => child.kill("SIGKILL"))
    )
    let up = false
    for (let i = 0; i < 200 && !up && child.exitCode === null; i++) {
      up = yield* Effect.promise(() => accepts(port))
      if (!up) yield* Effect.sleep(25)
    }
    assert.isTrue(up, "tinyproxy listens")
    return { url: `http://127.0.0.1:${port}`, port, log: () => readFileSync(log, "utf8") }
  })

describe("hitstream over TLS", () => {
  it.live(
    "simulate --tls prints its CA file; run --ca-file (or HITSTREAM_CA_FILE, or NODE_EXTRA_CA_CERTS) streams every record once, byte for byte",
    () =>
      Effect.gen(function* () {
        // A short session timeout: each run after the first reconnects at once (the default 30 s would be waited out with 409s).
        const sim = start(["simulate", "--tls", "--port", "0", "--rate", "max", "--grace-period-ms", "200"])
        yield* Effect.addFinalizer(() => Effect.sync(() => sim.child.kill("SIGKILL")))
        yield* until(() => /HITSTREAM_CA_FILE=\S+/.test(sim.stderr()))
        const value = (name: string) => new RegExp(`${name}=(\\S+)`).exec(sim.stderr())![1]
        const caFile = value("HITSTREAM_CA_FILE")
        assert.include(readFileSync(caFile, "utf8"), "-----BEGIN CERTIFICATE-----")
        const url = value("HITSTREAM_URL")
        assert.match(url, /^https:\/\/127\.0\.0\.1:\d+\//)
        const base = new URL(url).origin
        const { args, env } = connect({
          streamUrl: () => url,
          clientId: value("HITSTREAM_CLIENT_ID"),
          tokenUrl: () => value("HITSTREAM_TOKEN_URL"),
          clientSecret: "demo-secret"
        })
        const result = yield* run(["run", ...args, "--ca-file", caFile, "--limit", "300"], env)
        assert.strictEqual(result.code, 0, result.stderr)
        const lines = records(result.stdout)
        assert.strictEqual(lines.length, 300)
        checkRecords(1, lines)
        // The same with HITSTREAM_CA_FILE instead of the flag.
        const again = yield* run(["run", ...args, "--limit", "5"], {
          ...env,
          HITSTREAM_CLIENT_SECRET: "demo-secret",
          HITSTREAM_CA_FILE: caFile
        })
        assert.strictEqual(again.code, 0, again.stderr)
        assert.strictEqual(records(again.stdout).length, 5)
        // Node's own NODE_EXTRA_CA_CERTS keeps working.
        const extra = yield* run(["run", ...args, "--limit", "5"], {
          ...env,
          HITSTREAM_CLIENT_SECRET: "demo-secret",
          NODE_EXTRA_CA_CERTS: caFile
        })
        assert.strictEqual(extra.code, 0, extra.stderr)
        assert.strictEqual(records(extra.stdout).length, 5)
        assert.include(sim.stderr(), `Control API: ${base}/_sim/log`)
      }).pipe(Effect.scoped),
    // Three processes, each a few seconds to start on a loaded machine.
    120_000
  )

  it.live(
    "a CA the client does not trust: exit 3 at once, naming the check and --ca-file; IMS and the stream got nothing",
    () =>
      Effect.gen(function* () {
        const tls = yield* Tls.generate()
        yield* withSim({ tls }, (sim) =>
          Effect.gen(function* () {
            // A minimum spacing of 60 s: a retry would outlast the bound below.
            const { args, env } = connect(sim, {
              HITSTREAM_MIN_RECONNECT_DELAY: "60s",
              HITSTREAM_MAX_RECONNECT_DELAY: "2m"
            })
            const began = Date.now()
            const result = yield* run(["run", ...args], env)
            assert.strictEqual(result.code, 3, result.stderr)
            assert.isBelow(Date.now() - began, 30_000, "no retry loop")
            assert.include(result.stderr, "TLS certificate check failed (issuer)")
            assert.include(result.stderr, "--ca-file")
            assert.include(result.stderr, "The client secret was not sent")
            assert.notInclude(result.stderr + result.stdout, secret)
            assert.deepStrictEqual(yield* sim.tokenRequests, [], "no token request reached IMS")
            assert.deepStrictEqual(yield* sim.log, [], "no stream request reached the server")
          })
        )
      }).pipe(Effect.scoped),
    60_000
  )

  it.live(
    "a certificate for another host name, from a trusted CA: exit 3 naming the host-name check",
    () =>
      Effect.gen(function* () {
        const tls = yield* Tls.generate({ hosts: ["other.example"] })
        yield* withSim({ tls }, (sim) =>
          Effect.gen(function* () {
            const { args, env } = connect(sim)
            const result = yield* run(["run", ...args, "--ca-file", tls.caFile], env)
            assert.strictEqual(result.code, 3, result.stderr)
            assert.include(result.stderr, "TLS certificate check failed (hostname)")
            assert.include(result.stderr, "is not for the name 127.0.0.1")
            assert.deepStrictEqual(yield* sim.tokenRequests, [])
          })
        )
      }).pipe(Effect.scoped),
    60_000
  )

  it.live(
    "a CA file that is not one, or a proxy that is not a URL: exit 2 naming the setting",
    () =>
      Effect.gen(function* () {
        const dir = tmp()
        writeFileSync(join(dir, "not-a-ca.pem"), "hello\n")
        const sim = {
          streamUrl: () => "https://127.0.0.1:9/api/1/stream/x",
          clientId: "c",
          tokenUrl: () => "https://127.0.0.1:9/t",
          clientSecret: secret
        }
        const { args, env } = connect(sim)
        const badCa = yield* run(["run", ...args, "--ca-file", join(dir, "not-a-ca.pem")], env)
        assert.strictEqual(badCa.code, 2, badCa.stderr)
        assert.include(badCa.stderr, "holds no PEM certificate")
        const badProxy = yield* run(["run", ...args, "--proxy", "alice:pw-XYZ@proxy corp"], env)
        assert.strictEqual(badProxy.code, 2, badProxy.stderr)
        assert.include(badProxy.stderr, "--proxy (or HITSTREAM_PROXY)")
        assert.notInclude(badProxy.stderr, "pw-XYZ")
      }),
    60_000
  )

  it.live(
    "demo --tls streams from the simulator over HTTPS",
    () =>
      Effect.gen(function* () {
        const demo = start(["demo", "--tls", "--duration", "4s", "--rate", "200"])
        const result = yield* demo.done
        assert.strictEqual(result.code, 0, result.stderr)
        assert.include(result.stderr, "simulator on https://127.0.0.1:")
        assert.isAbove(records(result.stdout).length, 50)
        assert.include(result.stderr, "(missing: 0")
      }),
    60_000
  )
})

describe.skipIf(!hasTinyproxy)("hitstream through a proxy (tinyproxy)", () => {
  it.live(
    "HTTPS_PROXY: records through a CONNECT tunnel; NO_PROXY bypasses the proxy",
    () =>
      Effect.gen(function* () {
        const proxy = yield* tinyproxy()
        const tls = yield* Tls.generate()
        yield* withSim({ tls }, (sim) =>
          Effect.gen(function* () {
            const port = new URL(sim.baseUrl).port
            const { args, env } = connect(sim, { HTTPS_PROXY: proxy.url })
            const result = yield* run(["run", ...args, "--ca-file", tls.caFile, "--limit", "100"], env)
            assert.strictEqual(result.code, 0, result.stderr)
            checkRecords(sim.options.seed, records(result.stdout))
            assert.strictEqual(records(result.stdout).length, 100)
            const tunnels = proxy.log().match(new RegExp(`CONNECT 127\\.0\\.0\\.1:${port}`, "g")) ?? []
            // IMS and the stream share the host here, so one kept-alive tunnel may carry both.
            assert.isAtLeast(tunnels.length, 1, "through a CONNECT tunnel")

            // NO_PROXY covering the host: straight there, even with a proxy that is down.
            const before = proxy.log().length
            const bypass = connect(sim, { HTTPS_PROXY: "http://127.0.0.1:9", NO_PROXY: "127.0.0.1" })
            const direct = yield* run(
              ["run", ...bypass.args, "--ca-file", tls.caFile, "--limit", "20"],
              bypass.env
            )
            assert.strictEqual(direct.code, 0, direct.stderr)
            assert.strictEqual(records(direct.stdout).length, 20)
            assert.strictEqual(proxy.log().length, before, "the proxy saw nothing")
          })
        )
      }).pipe(Effect.scoped),
    120_000
  )

  it.live(
    "a proxy that requires credentials: they work from the URL and show in no output; without them, exit 3 (407)",
    () =>
      Effect.gen(function* () {
        const password = "pr0xy-Pa55-77"
        const proxy = yield* tinyproxy({ user: "alice", password })
        const tls = yield* Tls.generate()
        yield* withSim({ tls }, (sim) =>
          Effect.gen(function* () {
            const withCredentials = `http://alice:${password}@127.0.0.1:${proxy.port}`
            const { args, env } = connect(sim)
            const viaFlag = yield* run(
              [
                "run",
                ...args,
                "--ca-file",
                tls.caFile,
                "--proxy",
                withCredentials,
                "--limit",
                "50",
                "--log-level",
                "debug"
              ],
              env
            )
            assert.strictEqual(viaFlag.code, 0, viaFlag.stderr)
            assert.strictEqual(records(viaFlag.stdout).length, 50)
            const viaEnv = yield* run(["run", ...args, "--ca-file", tls.caFile, "--limit", "10"], {
              ...env,
              HTTPS_PROXY: withCredentials
            })
            assert.strictEqual(viaEnv.code, 0, viaEnv.stderr)
            for (const out of [viaFlag.stdout, viaFlag.stderr, viaEnv.stdout, viaEnv.stderr]) {
              assert.notInclude(out, password)
            }
            assert.include(proxy.log(), "CONNECT 127.0.0.1:")

            const refused = yield* run(
              ["run", ...args, "--ca-file", tls.caFile, "--proxy", `http://127.0.0.1:${proxy.port}`],
              env
            )
            assert.strictEqual(refused.code, 3, refused.stderr)
            assert.include(refused.stderr, "HTTP 407")
            assert.include(refused.stderr, "user:password@ before the host")
            const wrong = yield* run(
              [
                "run",
                ...args,
                "--ca-file",
                tls.caFile,
                "--proxy",
                `http://alice:not-${password}@127.0.0.1:${proxy.port}`
              ],
              env
            )
            assert.strictEqual(wrong.code, 3, wrong.stderr)
            assert.notInclude(wrong.stderr, password)
            assert.deepStrictEqual(
              yield* sim.tokenRequests.pipe(Effect.map((r) => r.length)),
              2,
              "only the runs that got through"
            )
          })
        )
      }).pipe(Effect.scoped),
    60_000
  )
})

describe.skipIf(!hasTinyproxy)("hitstream: losses on the way wait, and say what they are", () => {
  it.live(
    "a proxy that cannot reach the host (HTTP 500 to CONNECT) and a name that does not resolve: logged, waited out, no exit 3",
    () =>
      Effect.gen(function* () {
        const proxy = yield* tinyproxy()
        const dead = yield* freePort()
        const env = {
          HITSTREAM_ACCESS_TOKEN: "given-token",
          HITSTREAM_MIN_RECONNECT_DELAY: "300ms",
          HITSTREAM_MAX_RECONNECT_DELAY: "500ms"
        }
        const common = ["--client-id", "c", "--state-dir", tmp(), "--duration", "3s"]
        const viaProxy = yield* run(["run", "--url", `https://127.0.0.1:${dead}/api/1/stream/x`, ...common], {
          ...env,
          HTTPS_PROXY: proxy.url
        })
        assert.strictEqual(viaProxy.code, 0, viaProxy.stderr)
        assert.include(
          viaProxy.stderr,
          `the proxy ${proxy.url}/ could not open a tunnel to 127.0.0.1:${dead} (HTTP 500`
        )
        assert.isAtLeast(viaProxy.stderr.split("connection ended").length - 1, 2, "tried again")
        const dns = yield* run(["run", "--url", "https://stream.invalid/api/1/stream/x", ...common], env)
        assert.strictEqual(dns.code, 0, dns.stderr)
        assert.include(dns.stderr, "DNS lookup of stream.invalid failed (ENOTFOUND)")
      }).pipe(Effect.scoped),
    120_000
  )
})

if (!hasTinyproxy) {
  describe("hitstream through a proxy (tinyproxy)", () => {
    it("is skipped: tinyproxy is not installed (apt-get install -y tinyproxy)", () => {
      assert.isFalse(hasTinyproxy)
    })
  })
}
