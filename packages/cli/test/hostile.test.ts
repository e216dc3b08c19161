// The program under hostile input and in a person's hands (issues #10 and #17.4), each failure
// replayed against the real binary.
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import { chmodSync, existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs"
import * as Http from "node:http"
import * as Net from "node:net"
import { join } from "node:path"
import { gzipSync } from "node:zlib"
import { connect, run, start, tmp, until, withSim } from "./spawn.ts"

/** A server of one response body, for what the simulator will not send. */
const serveBody = (body: Uint8Array) =>
  Effect.acquireRelease(
    Effect.callback<{ readonly server: Http.Server; readonly url: string; readonly requests: () => number }>(
      (resume) => {
        let requests = 0
        const server = Http.createServer((req, res) => {
          requests++
          res.writeHead(200, { "content-type": "application/json", "content-encoding": "gzip" })
          // In pieces, as a network delivers it.
          let offset = 0
          const next = () => {
            while (offset < body.length) {
              const piece = body.subarray(offset, offset + 8192)
              offset += piece.length
              if (!res.write(piece)) return void res.once("drain", next)
            }
            // Held open: a reconnect would show as a second request.
          }
          next()
          req.on("close", () => res.destroy())
        })
        server.listen(0, "127.0.0.1", () => {
          const port = (server.address() as Net.AddressInfo).port
          resume(
            Effect.succeed({
              server,
              url: `http://127.0.0.1:${port}/api/1/stream/bomb`,
              requests: () => requests
            })
          )
        })
      }
    ),
    ({ server }) =>
      Effect.sync(() => {
        server.closeAllConnections()
        server.close()
      })
  )

/** Peak resident memory of a running process, in bytes (`VmHWM`), or 0 once it is gone. */
const peakRss = (pid: number): number => {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))
    return m === null ? 0 : Number(m[1]) * 1024
  } catch {
    return 0
  }
}

/** A port something already listens on, held until the scope closes. */
const busyPort = Effect.acquireRelease(
  Effect.callback<Net.Server>((resume) => {
    const server = Net.createServer()
    server.listen(0, "127.0.0.1", () => resume(Effect.succeed(server)))
  }),
  (server) => Effect.sync(() => server.close())
).pipe(Effect.map((server) => (server.address() as Net.AddressInfo).port))

const hitRecord = (n: number) =>
  `{"hitIdHigh":${2n ** 63n + BigInt(n)},"hitIdLow":${n},"pageName":"page ${n}"}`

describe("hitstream under hostile input", () => {
  it.live(
    "a gzip bomb (one 64 MiB record, ~64 KiB on the wire): skipped and logged with its size, the next hits delivered on the same connection, peak RSS bounded",
    () =>
      Effect.gen(function* () {
        const size = 64 * 1024 * 1024
        const body = gzipSync(
          Buffer.concat([
            Buffer.from(`${hitRecord(1)}\r\n`),
            Buffer.alloc(size, "a"),
            Buffer.from(`\r\n${hitRecord(2)}\r\n${hitRecord(3)}\r\n`)
          ])
        )
        assert.isBelow(body.length, 100 * 1024, "the bomb is small on the wire")
        const server = yield* serveBody(body)
        const child = start(
          ["run", "--url", server.url, "--client-id", "bomb-test", "--state-dir", tmp(), "--limit", "3"],
          { HITSTREAM_ACCESS_TOKEN: "static-token", HITSTREAM_MIN_RECONNECT_DELAY: "1s" }
        )
        let peak = 0
        const sampler = yield* Effect.forkScoped(
          Effect.forever(
            Effect.andThen(
              Effect.sync(() => {
                peak = Math.max(peak, peakRss(child.child.pid!))
              }),
              Effect.sleep(10)
            )
          )
        )
        const result = yield* child.done
        yield* Fiber.interrupt(sampler)
        assert.strictEqual(result.code, 0, result.stderr)
        assert.deepStrictEqual(result.stdout.split("\n").filter(Boolean), [
          hitRecord(1),
          hitRecord(2),
          hitRecord(3)
        ])
        assert.match(result.stderr, new RegExp(`TooLong.*${size} bytes`), "logged with its size")
        assert.strictEqual(result.stderr.match(/TooLong/g)?.length, 1, "logged once")
        assert.strictEqual(server.requests(), 1, "no reconnect")
        assert.isAbove(peak, 0, "the peak was sampled")
        // Unbounded, the process grew to 1.3 GB. Bounded, the record costs about its limit: the
        // program from sources peaks at ~175 MiB on a 10-byte record, ~205 MiB on this one.
        assert.isBelow(peak, 300 * 1024 * 1024, `peak RSS ${(peak / 2 ** 20).toFixed(0)} MiB`)
      }).pipe(Effect.scoped),
    90_000
  )

  it.live(
    "a closed stdout (| head -n 3): exit 0 at once, no message",
    () =>
      withSim({ rate: 200 }, (sim) =>
        Effect.gen(function* () {
          const { args, env } = connect(sim)
          const child = start(["run", ...args], env)
          yield* until(() => child.stdout().split("\n").length > 3 || child.child.exitCode !== null)
          // The reader goes away, as `head` does after its lines.
          child.child.stdout!.destroy()
          const started = Date.now()
          const result = yield* child.done
          assert.strictEqual(result.code, 0, result.stderr)
          assert.isBelow(Date.now() - started, 10_000, "promptly")
          assert.notMatch(result.stderr, /EPIPE|cannot write|hitstream:/)
        })
      ),
    60_000
  )

  it.live(
    "settings that cannot work: exit 2 before any connection, one line naming the flag and its variable",
    () =>
      withSim({ rate: 50 }, (sim) =>
        Effect.gen(function* () {
          const { args, env } = connect(sim)
          const without = (flag: string) => args.filter((_, i) => args[i] !== flag && args[i - 1] !== flag)
          const cases: Array<readonly [ReadonlyArray<string>, Record<string, string>, string | RegExp]> = [
            [without("--client-id"), env, "--client-id (or HITSTREAM_CLIENT_ID) is required"],
            [without("--url"), env, "--url (or HITSTREAM_URL) is required"],
            [
              [...args, "--sink", `file:${join(tmp(), "missing", "hits.ndjson")}`],
              env,
              /--sink \(or HITSTREAM_SINK\) file:.*does not exist/
            ],
            [
              [...args, "--max-record-size", "huge"],
              env,
              /--max-record-size \(or HITSTREAM_MAX_RECORD_SIZE\) is "huge"/
            ],
            [
              [...args],
              { ...env, HITSTREAM_MAX_CONNECTIONS: "99" },
              /--max-connections \(or HITSTREAM_MAX_CONNECTIONS\) is "?99"?.*1 to 8/
            ],
            [[...args, "--file-mode", "0400"], env, /--file-mode \(or HITSTREAM_FILE_MODE\) is "0400"/],
            [
              [...args, "--metrics-port", "70000"],
              env,
              /--metrics-port \(or HITSTREAM_METRICS_PORT\) is "70000".*1 to 65535/
            ],
            [
              [...args, "--client-secret-file", join(tmp(), "nope")],
              { ...env, HITSTREAM_CLIENT_SECRET: "" },
              /--client-secret-file \(or HITSTREAM_CLIENT_SECRET_FILE\) .*nope: cannot read it/
            ],
            [
              [...without("--state-dir"), "--state-dir", "/etc/passwd/state"],
              env,
              /--state-dir \(or HITSTREAM_STATE_DIR\) \/etc\/passwd\/state: cannot create it: ENOTDIR/
            ]
          ]
          for (const [argv, environment, expected] of cases) {
            const result = yield* run(["run", ...argv], environment)
            assert.strictEqual(result.code, 2, `${argv.join(" ")}: ${result.stderr}`)
            if (typeof expected === "string") assert.include(result.stderr, expected)
            else assert.match(result.stderr, expected)
            assert.strictEqual(result.stderr.trim().split("\n").length, 1, `one line: ${result.stderr}`)
          }
          // A port already in use: named with its flag, before the first connection.
          const port = yield* busyPort
          const busy = yield* run(["run", ...args, "--metrics-port", String(port)], {
            ...env,
            HITSTREAM_MIN_RECONNECT_DELAY: "60s",
            HITSTREAM_MAX_RECONNECT_DELAY: "2m"
          })
          assert.strictEqual(busy.code, 2, busy.stderr)
          assert.include(busy.stderr, `--metrics-port ${port}: address already in use`)
          assert.strictEqual(busy.stderr.trim().split("\n").length, 1, busy.stderr)
          assert.strictEqual((yield* sim.log).length, 0, "no connection was made")
        }).pipe(Effect.scoped)
      ),
    120_000
  )

  it.live(
    "flags as typed: bare --smoothing, --no-smoothing over the environment, integers, --help lists each flag once, a usage error is one line and a pointer",
    () =>
      withSim({ rate: Number.POSITIVE_INFINITY }, (sim) =>
        Effect.gen(function* () {
          const { args, env } = connect(sim)
          const on = yield* run(["run", ...args, "--smoothing", "--limit", "1"], env)
          assert.strictEqual(on.code, 0, on.stderr)
          const off = yield* run(["run", ...args, "--no-smoothing", "--limit", "1"], {
            ...env,
            HITSTREAM_SMOOTHING: "true"
          })
          assert.strictEqual(off.code, 0, off.stderr)
          const log = yield* sim.log
          assert.include(["true", "1"], log[0].query.smoothing, "bare --smoothing turns it on")
          assert.notStrictEqual(
            log[log.length - 1].query.smoothing,
            "true",
            "--no-smoothing wins over the environment"
          )

          const help = yield* run(["run", "--help"])
          assert.strictEqual(help.code, 0)
          const flagList = help.stdout.slice(help.stdout.indexOf("FLAGS"))
          for (const flag of ["--max-connections", "--metrics-port", "--dedup-capacity", "--limit"])
            assert.match(help.stdout, new RegExp(`${flag} integer`))
          for (const flag of [
            "--log-level",
            "--smoothing ",
            "--metrics-host",
            "--max-record-size",
            "--file-mode",
            "--trace-propagation"
          ])
            assert.strictEqual(flagList.split(flag).length - 1, 1, `${flag} once`)

          const usage = yield* run(["run", "--smoothing", "maybe-not", "--bogus"])
          assert.strictEqual(usage.code, 2)
          assert.strictEqual(usage.stdout, "", "no help page")
          const lines = usage.stderr.trim().split("\n")
          assert.strictEqual(lines[lines.length - 1], "see: hitstream run --help")
          assert.isAtMost(lines.length, 3, usage.stderr)
          assert.include(usage.stderr, "--bogus")
        })
      ),
    90_000
  )

  it.live(
    "private files: sink, rotated .gz and state dir 0600/0700 under umask 022; --file-mode widens; secrets refused in a config file; a readable secret file is warned about",
    () =>
      withSim({ rate: 300 }, (sim) =>
        Effect.gen(function* () {
          const previous = process.umask(0o022)
          try {
            const dir = tmp()
            const state = join(dir, "state")
            const file = join(dir, "hits.ndjson")
            const { args, env } = connect(sim, state)
            const result = yield* run(
              [
                "run",
                ...args,
                "--sink",
                `file:${file}`,
                "--rotate-size",
                "2KB",
                "--rotate-gzip",
                "--limit",
                "60"
              ],
              env
            )
            assert.strictEqual(result.code, 0, result.stderr)
            assert.strictEqual(statSync(state).mode & 0o777, 0o700, "state dir")
            const files = readdirSync(dir).filter((f) => f.startsWith("hits.ndjson"))
            assert.isTrue(
              files.some((f) => f.endsWith(".gz")),
              files.join(" ")
            )
            for (const f of files) assert.strictEqual(statSync(join(dir, f)).mode & 0o777, 0o600, f)

            const wide = tmp()
            const wideFile = join(wide, "hits.ndjson")
            const widened = yield* run(
              [
                "run",
                ...connect(sim, join(wide, "state")).args,
                "--sink",
                `file:${wideFile}`,
                "--file-mode",
                "0640",
                "--limit",
                "5"
              ],
              env
            )
            assert.strictEqual(widened.code, 0, widened.stderr)
            assert.strictEqual(statSync(wideFile).mode & 0o777, 0o640)
            assert.strictEqual(statSync(join(wide, "state")).mode & 0o777, 0o750)

            for (const key of ["clientSecret", "accessToken"]) {
              const config = join(tmp(), "hitstream.yaml")
              writeFileSync(config, `${key}: leaked-value\n`)
              const refused = yield* run(["run", ...args, "--config", config], env)
              assert.strictEqual(refused.code, 2, refused.stderr)
              assert.include(refused.stderr, `holds ${key}`)
              assert.include(
                refused.stderr,
                key === "clientSecret" ? "HITSTREAM_CLIENT_SECRET" : "HITSTREAM_ACCESS_TOKEN"
              )
              assert.include(
                refused.stderr,
                key === "clientSecret" ? "--client-secret-file" : "--access-token-file"
              )
              assert.notInclude(refused.stderr, "leaked-value")
            }

            const secret = join(tmp(), "secret")
            writeFileSync(secret, `${sim.clientSecret}\n`)
            chmodSync(secret, 0o644)
            const warned = yield* run(["run", ...args, "--client-secret-file", secret, "--limit", "1"], {
              ...env,
              HITSTREAM_CLIENT_SECRET: ""
            })
            assert.strictEqual(warned.code, 0, warned.stderr)
            assert.match(
              warned.stderr,
              /--client-secret-file .*secret is readable by its group and others \(mode 0644\).*chmod 600/
            )
            chmodSync(secret, 0o600)
            const quiet = yield* run(["run", ...args, "--client-secret-file", secret, "--limit", "1"], {
              ...env,
              HITSTREAM_CLIENT_SECRET: ""
            })
            assert.strictEqual(quiet.code, 0, quiet.stderr)
            assert.notInclude(quiet.stderr, "readable by")
            assert.isFalse(existsSync(join(dir, "missing")))
          } finally {
            process.umask(previous)
          }
        })
      ),
    120_000
  )

  it.live(
    "credentials in the URL never show: status, log lines and messages say *** instead",
    () =>
      withSim({ rate: Number.POSITIVE_INFINITY }, (sim) =>
        Effect.gen(function* () {
          const { args, env } = connect(sim)
          const url = sim.streamUrl().replace("http://", "http://operator:p4ss-w0rd@")
          const withUserinfo = args.map((a) => (a === sim.streamUrl() ? url : a))
          const result = yield* run(["run", ...withUserinfo, "--limit", "3", "--log-level", "debug"], env)
          assert.notInclude(result.stderr + result.stdout, "p4ss-w0rd")
          const json = yield* run(["run", ...withUserinfo, "--limit", "3", "--log-format", "json"], env)
          assert.notInclude(json.stderr + json.stdout, "p4ss-w0rd")
          const bad = yield* run(["run", ...withUserinfo, "--max-connections", "9"], env)
          assert.strictEqual(bad.code, 2)
          assert.notInclude(bad.stderr, "p4ss-w0rd")
        })
      ),
    60_000
  )
})
