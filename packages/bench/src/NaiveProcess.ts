/**
 * The naive client as a whole program, for the whole-process row: what most people would write
 * against Live Stream with Node alone. Token, `GET` (following redirects with the headers), a
 * `zlib` gunzip stream, CRLF split, `JSON.parse` of each record, the raw line to stdout (one
 * write per inflated chunk, waiting for `drain`), exit after `LIMIT` records.
 *
 * `node src/NaiveProcess.ts STREAM_URL TOKEN_URL CLIENT_ID LIMIT` with the secret in
 * `HITSTREAM_CLIENT_SECRET`.
 *
 * @since 0.1.0
 */
import * as Http from "node:http"
import * as Https from "node:https"
import { createGunzip } from "node:zlib"

const [url, tokenUrl, clientId, limitText] = process.argv.slice(2)
const limit = Number(limitText)

const response = await fetch(tokenUrl, {
  method: "POST",
  body: new URLSearchParams({
    grant_type: "client_credentials",
    client_id: clientId,
    client_secret: process.env.HITSTREAM_CLIENT_SECRET ?? ""
  })
})
const { access_token } = (await response.json()) as { access_token: string }
const headers = { authorization: `Bearer ${access_token}`, "x-api-key": clientId, "accept-encoding": "gzip" }

const get = (target: URL, hops: number): void => {
  const request = (target.protocol === "https:" ? Https : Http).get(target, { headers }, (res) => {
    const status = res.statusCode ?? 0
    if (status >= 300 && status < 400 && res.headers.location !== undefined && hops < 5) {
      res.resume()
      return get(new URL(res.headers.location, target), hops + 1)
    }
    if (status !== 200) {
      process.stderr.write(`HTTP ${status}\n`)
      process.exit(1)
    }
    let count = 0
    let tail = ""
    const gunzip = res.pipe(createGunzip())
    gunzip.on("data", (data: Buffer) => {
      const lines = (tail + data.toString("utf8")).split("\r\n")
      tail = lines.pop()!
      let out = ""
      for (const line of lines) {
        if (line.length === 0) continue
        JSON.parse(line)
        out += `${line}\n`
        if (++count === limit) break
      }
      const done = count === limit
      if (!process.stdout.write(out) && !done) {
        gunzip.pause()
        process.stdout.once("drain", () => gunzip.resume())
      }
      if (done) {
        gunzip.pause()
        request.destroy()
        process.stdout.write("", () => process.exit(0))
      }
    })
    gunzip.on("error", (e) => {
      process.stderr.write(`${e.message}\n`)
      process.exit(1)
    })
  })
  request.on("error", (e) => {
    if (!request.destroyed) {
      process.stderr.write(`${e.message}\n`)
      process.exit(1)
    }
  })
}
get(new URL(url), 0)
