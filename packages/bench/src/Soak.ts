/**
 * The soak: `hitstream run`, as an operator runs it, against the simulator at a steady rate with
 * the connection dropped every 40 s, for 10 minutes (`npm run bench -- --soak`; a shorter run
 * with `--soak-duration 2m`).
 *
 * It checks what matters for a daemon that runs for months, against the simulator's ground truth
 * (hit `n` of a seed is a pure function of the two, so every id that should arrive is known):
 * - no hit lost and none written twice (the simulator re-sends a few after each reconnect);
 * - no reconnect sooner than the minimum delay after a loss (from the simulator's own log);
 * - the client's resident memory, sampled from `/proc/PID/status` (`VmRSS`, and the kernel's
 *   high-water mark `VmHWM`), at most 200 MB including the 1M-hit dedup window.
 *
 * With the default 60 s minimum, each drop leaves a minute of backlog (180,000 hits at 3,000/s)
 * that arrives as one catch-up burst: the load that used to grow the process to 700 MB.
 *
 * @since 0.1.0
 */
import { HitGenerator } from "@hitstream/simulator"
import { Clock, Duration, Effect, Fiber, Schedule } from "effect"
import { appendFileSync, mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Ids } from "./SoakIds.ts"
import { child, exited, firstLine, here, json, memoryOf, program } from "./SoakProcess.ts"
import type { Row } from "./Stats.ts"

/**
 * @since 0.1.0
 */
export { program } from "./SoakProcess.ts"

/**
 * @since 0.1.0
 */
export interface Options {
  readonly durationSeconds: number
  readonly rate: number
  readonly dropEverySeconds: number
  readonly minReconnectDelaySeconds: number
  readonly seed: number
  readonly rssLimitMb: number
}

/**
 * The soak issue #17 asks for: 10 minutes at 3,000 hits/s, a drop every 40 s, the shipped 60 s
 * minimum delay.
 *
 * @since 0.1.0
 */
export const defaults: Options = {
  durationSeconds: 600,
  rate: 3000,
  dropEverySeconds: 40,
  minReconnectDelaySeconds: 60,
  seed: 17,
  rssLimitMb: 200
}

/**
 * What the soak measured.
 *
 * @since 0.1.0
 */
export interface Result {
  readonly options: Options
  /** How the client was started (`program().what`). */
  readonly program: string
  /** Hits the simulator sent (up to its highest `toIndex`): each must be written once. */
  readonly expected: number
  readonly generated: number
  readonly written: number
  readonly lost: number
  readonly duplicated: number
  readonly attempts: number
  readonly drops: number
  readonly duplicatesResent: number
  readonly spacingViolations: ReadonlyArray<number>
  readonly shortestGapMs: number | undefined
  readonly peakRssMb: number
  readonly finalRssMb: number
  readonly rssSamples: ReadonlyArray<{ readonly second: number; readonly rssMb: number }>
  readonly exitCode: number | null
  readonly warnings: number
  readonly passed: boolean
}

interface LogAttempt {
  readonly attempt: number
  readonly at: number
  readonly status: number
  readonly endedAt?: number
  readonly end?: string
  readonly toIndex?: number
  readonly duplicatesSent?: number
}

/**
 * Runs the soak and returns its figures. `log` gets a progress line every 30 s.
 *
 * @since 0.1.0
 */
export const run = (options: Options, log: (line: string) => void): Effect.Effect<Result, Error> =>
  Effect.gen(function* () {
    const totalHits = Math.round(options.rate * options.durationSeconds)
    const stateDir = mkdtempSync(join(tmpdir(), "hitstream-soak-"))
    yield* Effect.addFinalizer(() => Effect.sync(() => rmSync(stateDir, { recursive: true, force: true })))
    const sim = yield* child(
      [here("./SoakSimulator.ts"), JSON.stringify({ rate: options.rate, totalHits, seed: options.seed })],
      { stdio: ["ignore", "pipe", "inherit"] }
    )
    yield* Effect.addFinalizer(() =>
      Effect.sync(() => sim.kill("SIGTERM")).pipe(Effect.andThen(exited(sim, "10 seconds")))
    )
    const settings = JSON.parse(yield* firstLine(sim)) as {
      baseUrl: string
      url: string
      tokenUrl: string
      clientId: string
      clientSecret: string
    }
    // For an A/B of V8's settings: `HITSTREAM_SOAK_CLIENT_FLAGS="--trace-gc"` adds Node flags to
    // the client's command line, `HITSTREAM_SOAK_CLIENT_LOG=path` keeps all its stderr.
    const clientFlags = (process.env.HITSTREAM_SOAK_CLIENT_FLAGS ?? "").split(/\s+/).filter((f) => f !== "")
    const clientLog = process.env.HITSTREAM_SOAK_CLIENT_LOG
    // `HITSTREAM_SOAK_CLIENT_ENV="HITSTREAM_BUFFER_SIZE=1024 MALLOC_ARENA_MAX=2"` adds variables.
    const clientEnv = Object.fromEntries(
      (process.env.HITSTREAM_SOAK_CLIENT_ENV ?? "")
        .split(/\s+/)
        .filter((pair) => pair.includes("="))
        .map((pair) => [pair.slice(0, pair.indexOf("=")), pair.slice(pair.indexOf("=") + 1)])
    )
    const how = program()
    log(`soak: the client is ${how.what}`)
    const client = yield* child(
      [...how.args, "run"],
      {
        env: {
          PATH: process.env.PATH ?? "",
          HOME: process.env.HOME ?? tmpdir(),
          HITSTREAM_URL: settings.url,
          HITSTREAM_TOKEN_URL: settings.tokenUrl,
          HITSTREAM_CLIENT_ID: settings.clientId,
          HITSTREAM_CLIENT_SECRET: settings.clientSecret,
          HITSTREAM_MIN_RECONNECT_DELAY: `${options.minReconnectDelaySeconds}s`,
          HITSTREAM_STATE_DIR: stateDir,
          ...clientEnv
        },
        stdio: ["ignore", "pipe", "pipe"]
      },
      clientFlags
    )
    const pid = client.pid!
    const ids = new Ids()
    if (clientLog !== undefined) ids.other = (line) => appendFileSync(clientLog, line)
    client.stdout!.setEncoding("utf8")
    client.stdout!.on("data", (chunk: string) => ids.push(chunk))
    let warnings = 0
    const lastLogs: Array<string> = []
    let stderrCarry = ""
    client.stderr!.setEncoding("utf8")
    client.stderr!.on("data", (chunk: string) => {
      if (clientLog !== undefined) appendFileSync(clientLog, chunk)
      const lines = (stderrCarry + chunk).split("\n")
      stderrCarry = lines.pop() ?? ""
      for (const line of lines) {
        if (/WARN|ERROR/i.test(line)) warnings++
        lastLogs.push(line)
        if (lastLogs.length > 40) lastLogs.shift()
      }
    })
    const running = () => client.exitCode === null && client.signalCode === null

    const started = yield* Clock.currentTimeMillis
    const elapsed = Effect.map(Clock.currentTimeMillis, (now) => (now - started) / 1000)
    const samples: Array<{ second: number; rssMb: number }> = []
    let peak = 0
    yield* Effect.forkScoped(
      Effect.gen(function* () {
        const m = memoryOf(pid)
        if (m === undefined) return
        if (Number.isFinite(m.rss)) peak = Math.max(peak, m.hwm, m.rss)
        samples.push({ second: Math.round(yield* elapsed), rssMb: Math.round(m.rss * 10) / 10 })
      }).pipe(Effect.repeat(Schedule.spaced("1 second")))
    )
    const dropper = yield* Effect.forkScoped(
      Effect.sleep(Duration.seconds(options.dropEverySeconds)).pipe(
        Effect.andThen(json(`${settings.baseUrl}/_sim/drop`, { method: "POST" })),
        Effect.forever
      )
    )
    yield* Effect.forkScoped(
      Effect.gen(function* () {
        yield* Effect.sleep("30 seconds")
        const m = memoryOf(pid)
        log(
          `soak: ${(yield* elapsed).toFixed(0)} s, ${ids.seen.size.toLocaleString("en")} hits (${ids.duplicated} twice), RSS ${m?.rss.toFixed(0) ?? "?"} MB, peak ${peak.toFixed(0)} MB`
        )
      }).pipe(Effect.forever)
    )

    // The run, then the catch-up after the last drop: every generated hit should arrive once the
    // client has waited out its minimum and drained the backlog.
    while ((yield* elapsed) < options.durationSeconds && running()) yield* Effect.sleep("250 millis")
    yield* Fiber.interrupt(dropper)
    const settleBy = options.durationSeconds + options.minReconnectDelaySeconds + 120
    while (ids.seen.size < totalHits && (yield* elapsed) < settleBy && running())
      yield* Effect.sleep("250 millis")
    const final = memoryOf(pid)
    if (final !== undefined && Number.isFinite(final.hwm)) peak = Math.max(peak, final.hwm)
    client.kill("SIGTERM")
    const exitCode = yield* exited(client, "30 seconds")

    const attempts = yield* json<Array<LogAttempt>>(`${settings.baseUrl}/_sim/log`)
    const ordered = [...attempts].sort((a, b) => a.attempt - b.attempt)
    const gaps: Array<number> = []
    for (let i = 1; i < ordered.length; i++) {
      const previous = ordered[i - 1]
      if (previous.endedAt !== undefined) gaps.push(ordered[i].at - previous.endedAt)
    }
    const minimum = options.minReconnectDelaySeconds * 1000
    const spacingViolations = gaps.filter((gap) => gap < minimum)

    // What the simulator wrote to a socket: hits past it were generated but never sent (the
    // client was behind when the soak ended), which is not a loss.
    const sentUpTo = Math.min(totalHits, Math.max(0, ...ordered.map((a) => a.toIndex ?? 0)))
    let lost = 0
    for (let n = 0; n < sentUpTo; n++) {
      const id = HitGenerator.idsOf(options.seed, n)
      if (!ids.seen.has(`${id.hitIdHigh}:${id.hitIdLow}`)) lost++
    }
    const passed =
      lost === 0 && ids.duplicated === 0 && spacingViolations.length === 0 && peak <= options.rssLimitMb
    if (!passed) for (const line of lastLogs) log(`  client: ${line}`)
    return {
      options,
      program: how.what,
      expected: sentUpTo,
      generated: totalHits,
      written: ids.written,
      lost,
      duplicated: ids.duplicated,
      attempts: ordered.length,
      drops: ordered.filter((a) => a.end === "dropped").length,
      duplicatesResent: ordered.reduce((n, a) => n + (a.duplicatesSent ?? 0), 0),
      spacingViolations,
      shortestGapMs: gaps.length > 0 ? Math.min(...gaps) : undefined,
      peakRssMb: peak,
      finalRssMb: final?.rss ?? Number.NaN,
      rssSamples: samples,
      exitCode,
      warnings,
      passed
    } satisfies Result
  }).pipe(Effect.scoped)

/**
 * The soak's figures as benchmark rows (no baseline: the targets are absolute).
 *
 * @since 0.1.0
 */
export const rows = (result: Result): Array<Row> => {
  const o = result.options
  const setting = `${(o.durationSeconds / 60).toFixed(o.durationSeconds % 60 === 0 ? 0 : 1)} min at ${o.rate.toLocaleString("en")} hits/s, a drop every ${o.dropEverySeconds} s, ${o.minReconnectDelaySeconds} s minimum`
  const row = (figure: string, unit: string, value: number, target: string, note = ""): Row => ({
    figure: `soak: ${figure}`,
    unit,
    hitstream: [value],
    baseline: [],
    better: "none",
    target,
    note
  })
  return [
    row(
      "peak RSS (VmHWM)",
      "MB",
      result.peakRssMb,
      `<= ${o.rssLimitMb} MB`,
      `${setting}; hitstream run (${result.program}), 1M-hit dedup window included`
    ),
    row("final RSS", "MB", result.finalRssMb, "", "after the last catch-up"),
    row(
      "hits lost",
      "hits",
      result.lost,
      "0",
      `of ${result.expected.toLocaleString("en")} sent (${result.generated.toLocaleString("en")} generated; ids regenerated from the seed)`
    ),
    row(
      "hits written twice",
      "hits",
      result.duplicated,
      "0",
      `the simulator re-sent ${result.duplicatesResent} after reconnects`
    ),
    row(
      "reconnects sooner than the minimum",
      "attempts",
      result.spacingViolations.length,
      "0",
      `${result.attempts} attempts, ${result.drops} drops; shortest gap ${result.shortestGapMs === undefined ? "-" : `${(result.shortestGapMs / 1000).toFixed(1)} s`}`
    )
  ]
}
