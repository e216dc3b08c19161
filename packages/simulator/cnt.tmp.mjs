import * as Http from "node:http"
import { createGunzip } from "node:zlib"
const tok = await fetch("http://127.0.0.1:18090/ims/token/v3", {
  method: "POST",
  body: new URLSearchParams({
    grant_type: "client_credentials",
    client_id: "hitstream-demo",
    client_secret: "demo-secret"
  })
}).then((r) => r.json())
const N = +process.argv[2]
const t0 = performance.now()
let n = 0
Http.get(
  "http://127.0.0.1:18090/api/1/stream/demo",
  {
    headers: {
      authorization: `Bearer ${tok.access_token}`,
      "x-api-key": "hitstream-demo",
      "accept-encoding": "gzip"
    }
  },
  (res) => {
    res.pipe(createGunzip()).on("data", (d) => {
      for (let i = d.indexOf(10); i !== -1; i = d.indexOf(10, i + 1)) n++
      if (n >= N) {
        console.log("sim alone", ((n / (performance.now() - t0)) * 1000).toFixed(0), "lines/s")
        process.exit(0)
      }
    })
  }
)
