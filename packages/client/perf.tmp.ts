import { Effect, Stream } from "effect"
import { NodeRuntime } from "@effect/platform-node"
import { Simulator } from "@hitstream/simulator"
import { Config } from "@hitstream/core"
import { LiveStream, LiveStreamConfig, NodeLiveStream } from "./src/index.ts"
import * as Http from "node:http"
import { createGunzip } from "node:zlib"

const N = 60000
const main = Effect.gen(function* () {
  const sim = yield* Simulator.Simulator
  // naive: raw node http + gunzip + split + JSON.parse
  const tok = yield* Effect.promise(() =>
    fetch(sim.tokenUrl, {
      method: "POST",
      body: new URLSearchParams({
        grant_type: "client_credentials",
        client_id: sim.clientId,
        client_secret: sim.clientSecret
      })
    }).then((r) => r.json())
  )
  const t0 = performance.now()
  yield* Effect.promise(
    () =>
      new Promise<void>((resolve) => {
        const req = Http.get(
          sim.streamUrl(),
          {
            headers: {
              authorization: `Bearer ${tok.access_token}`,
              "x-api-key": sim.clientId,
              "accept-encoding": "gzip"
            }
          },
          (res) => {
            let n = 0,
              tail = ""
            const gz = res.pipe(createGunzip())
            gz.on("data", (d: Buffer) => {
              const parts = (tail + d.toString()).split("\r\n")
              tail = parts.pop()!
              for (const p of parts)
                if (p) {
                  JSON.parse(p)
                  n++
                }
              if (n >= N) {
                req.destroy()
                resolve()
              }
            })
          }
        )
      })
  )
  const t1 = performance.now()
  console.log("naive", ((N / (t1 - t0)) * 1000).toFixed(0), "hits/s")
  yield* Effect.sleep(300)
  const config = yield* Config.decode({
    url: sim.streamUrl(),
    clientId: sim.clientId,
    clientSecret: sim.clientSecret,
    tokenUrl: sim.tokenUrl,
    minReconnectDelay: "100ms"
  })
  const t2 = performance.now()
  yield* Effect.gen(function* () {
    const live = yield* LiveStream.LiveStream
    yield* live.hits.pipe(Stream.take(N), Stream.runDrain)
  }).pipe(Effect.provide(NodeLiveStream.layerWith(LiveStreamConfig.LiveStreamConfig.layerValue(config))))
  const t3 = performance.now()
  console.log("hitstream", ((N / (t3 - t2)) * 1000).toFixed(0), "hits/s")
}).pipe(Effect.provide(Simulator.Simulator.layer({ rate: Infinity, recordSent: false, gracePeriod: 50 })))
NodeRuntime.runMain(main)
