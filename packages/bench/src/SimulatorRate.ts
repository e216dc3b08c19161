/**
 * The simulator's own speed at `rate=max`: hits generated, compressed and written to one reader
 * over loopback, counted by the simulator as their bytes reach the socket. The reader runs in a
 * process of its own and only drains the socket, so that what is measured is the simulator.
 *
 * The baseline is the straightforward server: each record's text from `HitGenerator.generate`
 * piped through a `zlib` gzip stream at the same level, with backpressure.
 *
 * @since 0.1.0
 */
import { HitGenerator, Simulator } from "@hitstream/simulator"
import { Effect, ManagedRuntime } from "effect"
import { type ChildProcess, spawn } from "node:child_process"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import { createGzip } from "node:zlib"
import type { Row } from "./Stats.ts"

// A reader that drains the body and does nothing else.
const readerScript = `
const [url, token, apiKey] = process.argv.slice(1)
require("node:http").get(url, { agent: false, headers: { authorization: "Bearer " + token, "x-api-key": apiKey, "accept-encoding": "gzip" } }, (res) => {
  if (res.statusCode !== 200) { console.error("status " + res.statusCode); process.exit(1) }
  res.on("data", () => {})
})`

const startReader = (url: string, token: string, apiKey: string): ChildProcess =>
  spawn(process.execPath, ["-e", readerScript, url, token, apiKey], {
    stdio: ["ignore", "ignore", "inherit"]
  })

const sleep = (ms: number) => Effect.runPromise(Effect.sleep(ms))

interface Rate {
  readonly wall: number
  readonly cpu: number
}

// Hits per second over `seconds`, after a warm-up, from a counter the server keeps; and hits per
// second of this process's CPU time (all its threads), which a machine busy with other work
// does not change much.
const measure = async (count: () => Promise<number>, seconds: number): Promise<Rate> => {
  await sleep(500)
  const from = await count()
  const start = performance.now()
  const cpu = process.cpuUsage()
  await sleep(seconds * 1000)
  const hits = (await count()) - from
  const used = process.cpuUsage(cpu)
  return {
    wall: hits / ((performance.now() - start) / 1000),
    cpu: hits / ((used.user + used.system) / 1e6)
  }
}

const ours = async (rounds: number, seconds: number, log: (s: string) => void) => {
  const runtime = ManagedRuntime.make(
    Simulator.layer({ rate: Number.POSITIVE_INFINITY, recordSent: false, gracePeriod: 0 })
  )
  try {
    const sim = await runtime.runPromise(
      Effect.gen(function* () {
        return yield* Simulator.Simulator
      })
    )
    const token = await fetch(sim.tokenUrl(), {
      method: "POST",
      body: new URLSearchParams({
        grant_type: "client_credentials",
        client_id: sim.clientId,
        client_secret: sim.clientSecret
      })
    }).then((r) => r.json() as Promise<{ access_token: string }>)
    const rates: Array<Rate> = []
    for (let r = 0; r < rounds; r++) {
      const index = (await runtime.runPromise(sim.log)).length
      const reader = startReader(sim.streamUrl(), token.access_token, sim.clientId)
      const hitsSent = () => runtime.runPromise(sim.log).then((log) => log[index]?.hitsSent ?? 0)
      while ((await hitsSent()) === 0) await sleep(20)
      rates.push(await measure(hitsSent, seconds))
      reader.kill()
      log(
        `simulator rate=max round ${r + 1}: ${rates[r].wall.toFixed(0)} hits/s, ${rates[r].cpu.toFixed(0)} per CPU-second`
      )
      await sleep(200)
    }
    return rates
  } finally {
    await runtime.dispose()
  }
}

const naive = async (rounds: number, seconds: number) => {
  let written = 0
  const server = Http.createServer((_, res) => {
    res.writeHead(200, { "content-type": "application/json", "content-encoding": "gzip" })
    const gzip = createGzip({ level: 1 })
    gzip.pipe(res)
    let n = 0
    res.on("close", () => gzip.destroy())
    const pump = () => {
      while (!gzip.destroyed) {
        const parts: Array<string> = []
        for (let i = 0; i < 256; i++) parts.push(HitGenerator.generate(1, n++, 1_764_000_000).text, "\r\n")
        written += 256
        if (!gzip.write(parts.join(""))) return void gzip.once("drain", pump)
      }
    }
    pump()
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const port = (server.address() as AddressInfo).port
  const rates: Array<Rate> = []
  try {
    for (let r = 0; r < rounds; r++) {
      const reader = startReader(`http://127.0.0.1:${port}/`, "-", "-")
      rates.push(await measure(async () => written, seconds))
      reader.kill()
      await sleep(200)
    }
  } finally {
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
  }
  return rates
}

/**
 * @since 0.1.0
 */
export const simulatorRate = async (
  sizes: { readonly rounds: number; readonly latencySeconds: number },
  log: (s: string) => void
): Promise<Array<Row>> => {
  const seconds = Math.max(1, sizes.latencySeconds)
  const hitstream = await ours(sizes.rounds, seconds, log)
  const baseline = await naive(sizes.rounds, seconds)
  log(`simulator rate=max: done (naive server ${baseline.map((b) => b.wall.toFixed(0)).join(", ")} hits/s)`)
  return [
    {
      figure: "simulator rate=max, generated + gzip + written",
      unit: "hits/s",
      hitstream: hitstream.map((r) => r.wall),
      baseline: baseline.map((r) => r.wall),
      better: "higher",
      target: ">= 50,000 hits/s",
      note: `one reader in its own process over loopback, ${seconds} s per round; counted as bytes reach the socket; both gzip level 1, default strategy; baseline: generate() text through one zlib gzip stream`
    },
    {
      figure: "simulator rate=max, per CPU-second",
      unit: "hits/CPU-s",
      hitstream: hitstream.map((r) => r.cpu),
      baseline: baseline.map((r) => r.cpu),
      better: "higher",
      note: "hits per second of the simulator process's CPU time, all threads: the figure that other load on the machine changes least"
    }
  ]
}
