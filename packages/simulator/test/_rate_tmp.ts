import { Simulator } from "../src/index.ts"
import { Effect } from "effect"
import * as Http from "node:http"
const secs = Number(process.argv[2] ?? 5)
Effect.runPromise(
  Effect.gen(function* () {
    const sim = yield* Simulator.Simulator
    const t = await_(
      fetch(sim.tokenUrl, {
        method: "POST",
        body: new URLSearchParams({
          grant_type: "client_credentials",
          client_id: sim.clientId,
          client_secret: sim.clientSecret
        })
      }).then((r) => r.json())
    )
    const tok: any = yield* Effect.promise(() => t)
    let bytes = 0
    const req = Http.request(sim.streamUrl(), {
      headers: {
        authorization: `Bearer ${tok.access_token}`,
        "x-api-key": sim.clientId,
        "accept-encoding": "gzip"
      },
      agent: false
    })
    req.on("response", (res) =>
      res.on("data", (d) => {
        bytes += d.length
      })
    )
    req.end()
    yield* Effect.sleep(1000)
    const a = (yield* sim.log)[0].hitsSent
    const t0 = performance.now()
    yield* Effect.sleep(secs * 1000)
    const b = (yield* sim.log)[0].hitsSent
    console.log(
      "hits/s",
      ((b - a) / ((performance.now() - t0) / 1000)).toFixed(0),
      "MB",
      (bytes / 1e6).toFixed(1)
    )
    req.destroy()
  }).pipe(Effect.provide(Simulator.Simulator.layer({ rate: Infinity, recordSent: false })))
)
function await_<A>(p: Promise<A>) {
  return p
}
