/**
 * The measurements. Every figure is hitstream against a naive baseline measured in the same
 * process and run, over several rounds; the table reports medians with min and max. Nothing here
 * asserts a timing: `npm test` only checks that a `--quick` run prints every row.
 *
 * @since 0.1.0
 */
import { Connection, LiveStream, LiveStreamConfig, NodeLiveStream } from "@hitstream/client"
import { Sink } from "@hitstream/cli"
import { Config, Dedup, Framing, Hit } from "@hitstream/core"
import { HitGenerator } from "@hitstream/simulator"
import { type Cause, Effect, Fiber, ManagedRuntime, Queue, References, Scope, Stream } from "effect"
import { spawn } from "node:child_process"
import { createWriteStream, mkdtempSync, rmSync } from "node:fs"
import * as Http from "node:http"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { constants, createGzip, createGunzip } from "node:zlib"
import * as Bundle from "./Bundle.ts"
import * as Corpus from "./Corpus.ts"
import * as Pipelines from "./Pipelines.ts"
import type { Row } from "./Stats.ts"

/**
 * @since 0.1.0
 */
export { simulatorRate } from "./SimulatorRate.ts"

/**
 * @since 0.1.0
 */
export interface Sizes {
  readonly rounds: number
  readonly decodeHits: number
  readonly e2eHits: number
  readonly memoryMilestones: ReadonlyArray<number>
  readonly latencySeconds: number
  readonly reconnectCycles: number
}

/**
 * @since 0.1.0
 */
export const full: Sizes = {
  rounds: 3,
  decodeHits: 200_000,
  e2eHits: 100_000,
  memoryMilestones: [250_000, 500_000, 1_000_000],
  latencySeconds: 5,
  reconnectCycles: 20
}

/**
 * 1M, 5M and 10M hits through the pipeline for the memory figure (about 15 minutes more).
 *
 * @since 0.1.0
 */
export const long: Sizes = { ...full, memoryMilestones: [1_000_000, 5_000_000, 10_000_000] }

/**
 * @since 0.1.0
 */
export const quick: Sizes = {
  rounds: 1,
  decodeHits: 5_000,
  e2eHits: 5_000,
  memoryMilestones: [10_000, 20_000, 30_000],
  latencySeconds: 0.5,
  reconnectCycles: 3
}

const now = () => performance.now()
const gc = (globalThis as { gc?: () => void }).gc
const collect = () => {
  gc?.()
  gc?.()
}

const time = async (f: () => Promise<unknown>) => {
  const start = now()
  await f()
  return (now() - start) / 1000
}

// --- 1. decode pipeline -------------------------------------------------------------------------

/**
 * @since 0.1.0
 */
export const decode = async (sizes: Sizes, log: (s: string) => void): Promise<Array<Row>> => {
  const corpus = Corpus.make(sizes.decodeHits)
  const mb = corpus.uncompressedBytes / 1e6
  const h: Array<number> = []
  const b: Array<number> = []
  for (let r = 0; r < sizes.rounds; r++) {
    b.push(await time(() => Pipelines.naive(corpus.chunks)))
    h.push(await time(() => Effect.runPromise(Pipelines.hitstream(corpus.chunks, new Dedup.Dedup(), true))))
    log(
      `decode round ${r + 1}: hitstream ${(sizes.decodeHits / h[r]).toFixed(0)} hits/s, naive ${(sizes.decodeHits / b[r]).toFixed(0)} hits/s`
    )
  }
  return [
    {
      figure: "decode pipeline",
      unit: "hits/s",
      hitstream: h.map((s) => sizes.decodeHits / s),
      baseline: b.map((s) => sizes.decodeHits / s),
      better: "higher",
      target: ">= 0.95x",
      note: `${sizes.decodeHits} hits, 16 KiB gzip chunks; hitstream also keeps exact ids, validates, dedups`
    },
    {
      figure: "decode pipeline",
      unit: "MB/s",
      hitstream: h.map((s) => mb / s),
      baseline: b.map((s) => mb / s),
      better: "higher",
      target: ">= 0.95x",
      note: "uncompressed bytes"
    }
  ]
}

// --- 2. end to end over loopback ----------------------------------------------------------------

interface SimulatorEndpoint {
  readonly url: string
  readonly tokenUrl: string
  readonly clientId: string
  readonly clientSecret: string
  readonly stop: () => void
}

const startSimulator = (totalHits: number) =>
  new Promise<SimulatorEndpoint>((resolve, reject) => {
    const script = fileURLToPath(new URL("./SimulatorProcess.ts", import.meta.url))
    const child = spawn(
      process.execPath,
      [...process.execArgv.filter((a) => a.startsWith("--conditions")), script, String(totalHits)],
      {
        stdio: ["ignore", "pipe", "inherit"]
      }
    )
    let out = ""
    child.stdout!.on("data", (d) => {
      out += d
      const line = out.split("\n")[0]
      if (out.includes("\n")) resolve({ ...JSON.parse(line), stop: () => child.kill("SIGKILL") })
    })
    child.on("error", reject)
  })

const token = async (sim: SimulatorEndpoint) => {
  const response = await fetch(sim.tokenUrl, {
    method: "POST",
    body: new URLSearchParams({
      grant_type: "client_credentials",
      client_id: sim.clientId,
      client_secret: sim.clientSecret
    })
  })
  return ((await response.json()) as { access_token: string }).access_token
}

/** The naive client over the network: http.get, gunzip, split on CRLF, JSON.parse. */
const naiveClient = (sim: SimulatorEndpoint, hits: number, write?: (line: string) => void, cached?: string) =>
  (cached === undefined ? token(sim) : Promise.resolve(cached)).then(
    (accessToken) =>
      new Promise<void>((resolve, reject) => {
        const request = Http.get(
          sim.url,
          {
            headers: {
              authorization: `Bearer ${accessToken}`,
              "x-api-key": sim.clientId,
              "accept-encoding": "gzip"
            }
          },
          (res) => {
            let count = 0
            const gunzip = res.pipe(createGunzip())
            const records = Pipelines.naiveRecords((line) => {
              if (count++ < hits) write?.(`${line}\n`)
            })
            gunzip.on("data", (data: Buffer) => {
              if (count >= hits) return
              records(data)
              if (count >= hits) {
                request.destroy()
                resolve()
              }
            })
            gunzip.on("error", reject)
          }
        )
        request.on("error", (e) => (e.message.includes("aborted") ? undefined : reject(e)))
      })
  )

const clientLayer = (sim: SimulatorEndpoint) =>
  Effect.map(
    Config.decode({
      url: sim.url,
      clientId: sim.clientId,
      clientSecret: sim.clientSecret,
      tokenUrl: sim.tokenUrl,
      minReconnectDelay: "1s"
    }),
    (config) => NodeLiveStream.layerParts(LiveStreamConfig.layerValue(config))
  )

const hitstreamClient = (sim: SimulatorEndpoint, hits: number, sink?: Sink.Sink) =>
  Effect.runPromise(
    Effect.gen(function* () {
      const layer = yield* clientLayer(sim)
      return yield* Effect.gen(function* () {
        const live = yield* LiveStream.LiveStream
        yield* live.hits.pipe(
          Stream.take(hits),
          Stream.runForEachArray((batch) => (sink === undefined ? Effect.void : sink.write(batch))),
          Effect.andThen(sink === undefined ? Effect.void : sink.close)
        )
      }).pipe(Effect.provide(layer))
    }).pipe(Effect.provideService(References.MinimumLogLevel, "Error"))
  )

/**
 * @since 0.1.0
 */
export const endToEnd = async (sizes: Sizes, log: (s: string) => void): Promise<Array<Row>> => {
  const sim = await startSimulator(sizes.e2eHits)
  const dir = mkdtempSync(join(tmpdir(), "hitstream-bench-"))
  try {
    const count = { h: [] as Array<number>, b: [] as Array<number> }
    const file = { h: [] as Array<number>, b: [] as Array<number> }
    for (let r = 0; r < sizes.rounds; r++) {
      count.b.push(await time(() => naiveClient(sim, sizes.e2eHits)))
      count.h.push(await time(() => hitstreamClient(sim, sizes.e2eHits)))
      const naivePath = join(dir, `naive-${r}.ndjson`)
      file.b.push(
        await time(async () => {
          const out = createWriteStream(naivePath)
          await naiveClient(sim, sizes.e2eHits, (line) => out.write(line))
          await new Promise<void>((resolve) => out.end(resolve))
        })
      )
      const hitstreamPath = join(dir, `hitstream-${r}.ndjson`)
      file.h.push(
        await time(async () => {
          // The sink's scope stays open: hitstreamClient closes the sink itself when done.
          const sink = await Effect.runPromise(
            Effect.flatMap(Scope.make(), (scope) =>
              Sink.file({
                path: hitstreamPath,
                format: "raw",
                rotateSize: undefined,
                rotateInterval: undefined,
                rotateGzip: false
              }).pipe(Scope.provide(scope))
            )
          )
          await hitstreamClient(sim, sizes.e2eHits, sink)
        })
      )
      log(
        `end to end round ${r + 1}: hitstream ${(sizes.e2eHits / count.h[r]).toFixed(0)} hits/s, naive ${(sizes.e2eHits / count.b[r]).toFixed(0)} hits/s`
      )
    }
    const rate = (xs: Array<number>) => xs.map((s) => sizes.e2eHits / s)
    return [
      {
        figure: "end to end, loopback, counting",
        unit: "hits/s",
        hitstream: rate(count.h),
        baseline: rate(count.b),
        better: "higher",
        target: ">= 0.9x",
        note: `${sizes.e2eHits} hits; simulator in its own process, preloaded gzip level 6; includes token and connect`
      },
      {
        figure: "end to end, loopback, file sink",
        unit: "hits/s",
        hitstream: rate(file.h),
        baseline: rate(file.b),
        better: "higher",
        target: ">= 0.9x",
        note: "NDJSON appended to a temporary file, fsync on close"
      }
    ]
  } finally {
    sim.stop()
    rmSync(dir, { recursive: true, force: true })
  }
}

// --- 3. memory ------------------------------------------------------------------------------------

interface MemoryResult {
  readonly warm: NodeJS.MemoryUsage
  readonly at: Array<NodeJS.MemoryUsage>
  readonly gc: boolean
  readonly dedupBytes: number
}

const memoryRun = (pipeline: "hitstream" | "naive", milestones: ReadonlyArray<number>) =>
  new Promise<MemoryResult>((resolve, reject) => {
    const script = fileURLToPath(new URL("./MemoryProcess.ts", import.meta.url))
    const child = spawn(
      process.execPath,
      [
        ...process.execArgv.filter((a) => a.startsWith("--conditions")),
        "--expose-gc",
        script,
        pipeline,
        milestones.join(",")
      ],
      {
        stdio: ["ignore", "pipe", "inherit"]
      }
    )
    let out = ""
    child.stdout!.on("data", (d) => (out += d))
    child.on("close", (code) =>
      code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`memory run of ${pipeline} exited ${code}`))
    )
  })

/**
 * @since 0.1.0
 */
export const memory = async (sizes: Sizes, log: (s: string) => void): Promise<Array<Row>> => {
  const h = await memoryRun("hitstream", sizes.memoryMilestones)
  const b = await memoryRun("naive", sizes.memoryMilestones)
  const mb = (n: number) => n / 1024 / 1024
  const rows: Array<Row> = sizes.memoryMilestones.flatMap((milestone, i) => [
    {
      figure: `heap growth after warm-up, at ${milestone.toLocaleString("en")} hits`,
      unit: "MB",
      hitstream: [mb(h.at[i].heapUsed - h.warm.heapUsed)],
      baseline: [mb(b.at[i].heapUsed - b.warm.heapUsed)],
      better: "none",
      target: "< 10 MB",
      note: h.gc
        ? "after gc, each pipeline in its own process; a ratio of near-zero growths means nothing"
        : "no --expose-gc: includes garbage"
    },
    {
      figure: `RSS at ${milestone.toLocaleString("en")} hits`,
      unit: "MB",
      hitstream: [mb(h.at[i].rss)],
      baseline: [mb(b.at[i].rss)],
      better: "lower",
      note: `each pipeline in its own process; hitstream's includes its 1M-hit dedup window (${mb(h.dedupBytes).toFixed(0)} MB)`
    }
  ])
  log(`memory: done (${sizes.memoryMilestones.join(", ")} hits)`)

  // The dedup structure against a Set of "high:low" strings, both holding 1M ids.
  const capacity = 1_000_000
  const ids = Array.from({ length: capacity }, (_, n) => HitGenerator.idsOf(3, n))
  collect()
  const before = process.memoryUsage().heapUsed
  const set = new Set<string>()
  for (const id of ids) set.add(`${id.hitIdHigh}:${id.hitIdLow}`)
  collect()
  const setBytes = process.memoryUsage().heapUsed - before
  const window = new Dedup.Dedup(capacity)
  for (const id of ids) window.admit(BigInt(id.hitIdHigh), BigInt(id.hitIdLow))
  rows.push({
    figure: "dedup bytes per remembered hit (1M)",
    unit: "B",
    hitstream: [window.byteLength / capacity],
    baseline: [setBytes / set.size],
    better: "lower",
    target: "<= 32 B",
    note: gc ? "baseline: Set of strings, measured after gc" : "baseline approximate without --expose-gc"
  })
  return rows
}

// --- 4. added latency -----------------------------------------------------------------------------

const flushedChunks = (batches: number, perBatch: number) =>
  new Promise<Array<Uint8Array>>((resolve) => {
    const gzip = createGzip()
    const chunks: Array<Uint8Array> = []
    let pending: Array<Buffer> = []
    gzip.on("data", (d: Buffer) => pending.push(d))
    let n = 0
    const next = (batch: number) => {
      if (batch === batches) {
        // The trailer, so that the stream ends as a whole gzip stream.
        gzip.once("end", () => resolve([...chunks, Buffer.concat(pending)]))
        return void gzip.end()
      }
      let text = ""
      for (let i = 0; i < perBatch; i++) text += `${HitGenerator.generate(5, n++, 1_764_000_000).text}\r\n`
      gzip.write(text)
      gzip.flush(constants.Z_SYNC_FLUSH, () => {
        chunks.push(Buffer.concat(pending))
        pending = []
        next(batch + 1)
      })
    }
    next(0)
  })

const percentile = (values: ReadonlyArray<number>, p: number) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]
}

/**
 * @since 0.1.0
 */
export const latency = async (sizes: Sizes, log: (s: string) => void): Promise<Array<Row>> => {
  // 10,000 hits/s as a socket delivers it: a flushed chunk of 10 hits every millisecond.
  const perBatch = 10
  const batches = Math.round((sizes.latencySeconds * 10_000) / perBatch)
  const chunks = await flushedChunks(batches, perBatch)
  const pushed: Array<number> = []

  const hitstream = await Effect.runPromise(
    Effect.gen(function* () {
      const queue = yield* Queue.unbounded<Uint8Array, Cause.Done>()
      const delays: Array<number> = []
      let emitted = 0
      const consume = Stream.fromQueue(queue).pipe(
        Framing.decode,
        Stream.runForEachArray((framed) =>
          Effect.sync(() => {
            const t = now()
            const before = emitted
            emitted += framed.filter((f) => !Hit.isMalformed(f)).length
            // A chunk is out when its last hit is.
            for (let c = Math.floor(before / perBatch); c * perBatch + perBatch <= emitted; c++) {
              if (c * perBatch + perBatch > before) delays.push(t - pushed[c])
            }
          })
        ),
        Effect.forkChild
      )
      const fiber = yield* consume
      for (const chunk of chunks) {
        pushed.push(now())
        Queue.offerUnsafe(queue, chunk)
        yield* Effect.sleep(1)
      }
      yield* Queue.end(queue)
      yield* Fiber.join(fiber)
      return delays
    })
  )
  const naivePushed: Array<number> = []
  const naive = await new Promise<Array<number>>((resolve) => {
    const gunzip = createGunzip()
    const delays: Array<number> = []
    let emitted = 0
    gunzip.on(
      "data",
      Pipelines.naiveRecords(() => {
        emitted++
        if (emitted % perBatch === 0) delays.push(now() - naivePushed[emitted / perBatch - 1])
      })
    )
    let i = 0
    const feed = () => {
      if (i === chunks.length) return resolve(delays)
      naivePushed.push(now())
      gunzip.write(chunks[i++])
      Effect.runFork(Effect.andThen(Effect.sleep(1), Effect.sync(feed)))
    }
    feed()
  })
  log(`latency: ${hitstream.length} chunks measured`)
  return [50, 99].map((p) => ({
    figure: `added latency p${p}, 10,000 hits/s`,
    unit: "ms",
    hitstream: [percentile(hitstream, p)],
    baseline: [percentile(naive, p)],
    better: "lower" as const,
    target: p === 99 ? "<= baseline + 1 ms" : "",
    note: "chunk arrival to its last hit emitted, 10-hit gzip-flushed chunks every 1 ms"
  }))
}

// --- 5. reconnect cost ----------------------------------------------------------------------------

/**
 * @since 0.1.0
 */
export const reconnect = async (sizes: Sizes, log: (s: string) => void): Promise<Array<Row>> => {
  const sim = await startSimulator(1_000)
  try {
    const runtime = ManagedRuntime.make(await Effect.runPromise(clientLayer(sim)))
    const accessToken = await token(sim)
    const measure = async (cycle: () => Promise<unknown>) => {
      await cycle()
      const cpu = process.cpuUsage()
      const heap = process.memoryUsage().heapUsed
      const start = now()
      for (let i = 0; i < sizes.reconnectCycles; i++) await cycle()
      const used = process.cpuUsage(cpu)
      return {
        cpu: (used.user + used.system) / 1000 / sizes.reconnectCycles,
        wall: (now() - start) / sizes.reconnectCycles,
        heap: (process.memoryUsage().heapUsed - heap) / 1024 / sizes.reconnectCycles
      }
    }
    const hitstream = await measure(() =>
      runtime.runPromise(
        Effect.gen(function* () {
          const connection = yield* Connection.Connection
          const body = yield* connection.open(0)
          yield* body.bytes.pipe(Framing.decode, Stream.take(1), Stream.runDrain)
        }).pipe(Effect.scoped)
      )
    )
    const naive = await measure(() => naiveClient(sim, 1, undefined, accessToken))
    await runtime.dispose()
    log("reconnect: done")
    return [
      {
        figure: "reconnect cycle CPU (token + connect + first hit)",
        unit: "ms",
        hitstream: [hitstream.cpu],
        baseline: [naive.cpu],
        better: "lower",
        note: `informational; ${sizes.reconnectCycles} cycles, not counting the policy's wait, both with a cached token; wall ${hitstream.wall.toFixed(1)} vs ${naive.wall.toFixed(1)} ms`
      },
      {
        figure: "reconnect cycle heap delta",
        unit: "KB",
        hitstream: [hitstream.heap],
        baseline: [naive.heap],
        better: "none",
        note: "informational; heap growth per cycle, garbage included"
      }
    ]
  } finally {
    sim.stop()
  }
}

// --- 6. whole process ----------------------------------------------------------------------------

/** How `hitstream` is started: as users start it, the launcher and the built bundle. */
const program = (): ReadonlyArray<string> => [Bundle.launcher]

/** Runs a program to its exit, reading its stdout as a pipe would; seconds and lines written. */
const runProcess = (args: ReadonlyArray<string>, env: Record<string, string>) =>
  new Promise<{ readonly seconds: number; readonly lines: number }>((resolve, reject) => {
    const start = now()
    const child = spawn(process.execPath, args, {
      env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", ...env },
      stdio: ["ignore", "pipe", "pipe"]
    })
    let lines = 0
    let stderr = ""
    child.stdout!.on("data", (d: Buffer) => {
      for (let i = d.indexOf(10); i !== -1; i = d.indexOf(10, i + 1)) lines++
    })
    child.stderr!.on("data", (d) => (stderr = (stderr + d).slice(-2000)))
    child.on("error", reject)
    child.on("close", (code) =>
      code === 0
        ? resolve({ seconds: (now() - start) / 1000, lines })
        : reject(new Error(`${args.join(" ")} exited ${code}: ${stderr}`))
    )
  })

const hitstreamRun = (sim: SimulatorEndpoint, hits: number, dir: string, extra: ReadonlyArray<string> = []) =>
  runProcess(
    [
      ...program(),
      "run",
      "--url",
      sim.url,
      "--client-id",
      sim.clientId,
      "--token-url",
      sim.tokenUrl,
      "--limit",
      String(hits),
      "--sink",
      "stdout",
      "--min-reconnect-delay",
      "1s",
      "--state-dir",
      mkdtempSync(join(dir, "state-")),
      ...extra
    ],
    { HITSTREAM_CLIENT_SECRET: sim.clientSecret }
  )

const naiveRun = (sim: SimulatorEndpoint, hits: number) =>
  runProcess(
    [
      fileURLToPath(new URL("./NaiveProcess.ts", import.meta.url)),
      sim.url,
      sim.tokenUrl,
      sim.clientId,
      String(hits)
    ],
    { HITSTREAM_CLIENT_SECRET: sim.clientSecret }
  )

const checkLines = (what: string, got: number, hits: number) => {
  if (got !== hits) throw new Error(`${what} wrote ${got} lines, expected ${hits}`)
}

/**
 * The whole program, startup included: `hitstream run --limit N --sink stdout` against the naive
 * script, alternating (A B A B) against one simulator process; and `--connections 2` against one
 * slot.
 *
 * @since 0.1.0
 */
export const wholeProcess = async (sizes: Sizes, log: (s: string) => void): Promise<Array<Row>> => {
  const hits = sizes.e2eHits * 2
  const sim = await startSimulator(hits)
  const dir = mkdtempSync(join(tmpdir(), "hitstream-bench-process-"))
  log(`whole process: ${Bundle.ensure()}`)
  try {
    const h: Array<number> = []
    const b: Array<number> = []
    for (let r = 0; r < sizes.rounds; r++) {
      const naive = await naiveRun(sim, hits)
      checkLines("the naive script", naive.lines, hits)
      b.push(hits / naive.seconds)
      const ours = await hitstreamRun(sim, hits, dir)
      checkLines("hitstream run", ours.lines, hits)
      h.push(hits / ours.seconds)
      log(
        `whole process round ${r + 1}: hitstream ${h[r].toFixed(0)} hits/s, naive ${b[r].toFixed(0)} hits/s`
      )
    }
    const one: Array<number> = []
    const two: Array<number> = []
    for (let r = 0; r < sizes.rounds; r++) {
      const single = await hitstreamRun(sim, hits, dir, ["--max-connections", "2", "--connections", "1"])
      checkLines("hitstream run --connections 1", single.lines, hits)
      one.push(hits / single.seconds)
      const double = await hitstreamRun(sim, hits, dir, ["--max-connections", "2", "--connections", "2"])
      checkLines("hitstream run --connections 2", double.lines, hits)
      two.push(hits / double.seconds)
      log(`slots round ${r + 1}: 2 slots ${two[r].toFixed(0)} hits/s, 1 slot ${one[r].toFixed(0)} hits/s`)
    }
    return [
      {
        figure: "whole process, run --sink stdout",
        unit: "hits/s",
        hitstream: h,
        baseline: b,
        better: "higher",
        target: ">= 0.9x",
        note: `${hits} hits, startup included; hitstream: the launcher and the bundle; baseline: NaiveProcess.ts (token, redirects, gunzip, CRLF, JSON.parse, raw lines); alternating`
      },
      {
        figure: "2 slots vs 1 slot (baseline: 1 slot)",
        unit: "hits/s",
        hitstream: two,
        baseline: one,
        better: "higher",
        target: ">= 1.5x",
        note: `hitstream run --max-connections 2, --connections 2 against --connections 1; ${hits} hits to stdout`
      }
    ]
  } finally {
    sim.stop()
    rmSync(dir, { recursive: true, force: true })
  }
}
