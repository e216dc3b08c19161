/**
 * What several figures share over loopback: the simulator in a process of its own, the naive
 * client (http.get, gunzip, CRLF, JSON.parse) and the hitstream client against it.
 *
 * @since 0.1.0
 */
import { LiveStream, LiveStreamConfig, NodeLiveStream } from "@hitstream/client"
import type { Sink } from "@hitstream/cli"
import { Config } from "@hitstream/core"
import { Effect, References, Stream } from "effect"
import { spawn } from "node:child_process"
import * as Http from "node:http"
import { fileURLToPath } from "node:url"
import { createGunzip } from "node:zlib"
import * as Pipelines from "./Pipelines.ts"

/**
 * The simulator process's address and credentials, and how to stop it.
 *
 * @since 0.1.0
 */
export interface SimulatorEndpoint {
  readonly url: string
  readonly tokenUrl: string
  readonly clientId: string
  readonly clientSecret: string
  readonly stop: () => void
}

/**
 * Starts `SimulatorProcess.ts` serving `totalHits` hits; resolves once it prints its settings.
 *
 * @since 0.1.0
 */
export const startSimulator = (totalHits: number) =>
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

/**
 * A token from the simulator's token endpoint.
 *
 * @since 0.1.0
 */
export const token = async (sim: SimulatorEndpoint) => {
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

/**
 * The naive client over the network: http.get, gunzip, split on CRLF, JSON.parse.
 *
 * @since 0.1.0
 */
export const naiveClient = (
  sim: SimulatorEndpoint,
  hits: number,
  write?: (line: string) => void,
  cached?: string
) =>
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

/**
 * hitstream's client layer against the simulator.
 *
 * @since 0.1.0
 */
export const clientLayer = (sim: SimulatorEndpoint) =>
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

/**
 * hitstream's client taking `hits` hits, written to `sink` when given (and the sink closed).
 *
 * @since 0.1.0
 */
export const hitstreamClient = (sim: SimulatorEndpoint, hits: number, sink?: Sink.Sink) =>
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
