// A plain HTTP client for the simulator's own tests: node:http and zlib, nothing of hitstream's,
// so the simulator is checked against the protocol rather than against our client.
import { Effect } from "effect"
import * as Http from "node:http"
import * as Net from "node:net"
import { constants, createGunzip, gunzipSync } from "node:zlib"

export interface Reply {
  readonly status: number
  readonly headers: Http.IncomingHttpHeaders
  /** The raw body bytes as received (gzip for a 200 stream). */
  readonly raw: Buffer
  /** How many separate `data` events the body arrived in. */
  readonly chunks: number
  /** How the body ended: cleanly, or with the socket closing first. */
  readonly ended: "end" | "aborted" | "stopped"
}

export interface GetOptions {
  readonly method?: string
  readonly headers?: Record<string, string>
  /** Stop reading once this many CRLF-separated records have arrived (for endless streams). */
  readonly records?: number
  /** Stop reading after this long, in milliseconds. */
  readonly within?: number
}

/** Inflates whatever arrived, even a stream cut short, and splits the records. */
export const records = (raw: Buffer): Array<string> => {
  if (raw.length === 0) return []
  const text = gunzipSync(raw, { finishFlush: constants.Z_SYNC_FLUSH }).toString("utf8")
  const parts = text.split("\r\n")
  // The last part is a record still on its way (or "" after a final CRLF): not a record yet.
  parts.pop()
  return parts.filter((r) => r.length > 0)
}

export const get = (url: string, options: GetOptions = {}) =>
  Effect.callback<Reply>((resume) => {
    let settled = false
    const chunks: Array<Buffer> = []
    let response: Http.IncomingMessage | undefined
    const finish = (ended: Reply["ended"]) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      request.destroy()
      resume(
        Effect.succeed({
          status: response?.statusCode ?? 0,
          headers: response?.headers ?? {},
          raw: Buffer.concat(chunks),
          chunks: chunks.length,
          ended
        })
      )
    }
    const timer = setTimeout(() => finish("stopped"), options.within ?? 3000)
    const request = Http.request(url, {
      method: options.method ?? "GET",
      headers: options.headers,
      agent: false
    })
    request.on("response", (res) => {
      response = res
      // Records are counted as they inflate (latin1 is enough to find CRLFs), not by inflating
      // everything again on every chunk.
      const counter = options.records !== undefined && res.statusCode === 200 ? createGunzip() : undefined
      let tail = ""
      let count = 0
      counter?.on("data", (d: Buffer) => {
        const parts = (tail + d.toString("latin1")).split("\r\n")
        tail = parts.pop()!
        count += parts.filter((p) => p.length > 0).length
        if (count >= options.records!) finish("stopped")
      })
      // Garbage is not gzip: keep reading until the end or the deadline.
      counter?.on("error", () => {})
      res.on("data", (chunk: Buffer) => {
        chunks.push(chunk)
        counter?.write(chunk)
      })
      res.on("end", () => finish("end"))
      res.on("aborted", () => finish("aborted"))
      res.on("error", () => finish("aborted"))
      res.on("close", () => finish(res.complete ? "end" : "aborted"))
    })
    request.on("error", () => finish("aborted"))
    request.end()
    return Effect.sync(() => finish("stopped"))
  })

export const json = (reply: Reply): any => JSON.parse(reply.raw.toString("utf8"))

/** A request with a hand-written first line, for what node:http will not send (HTTP/1.0). */
export const rawRequest = (port: number, text: string) =>
  Effect.callback<string>((resume) => {
    const socket = Net.connect(port, "127.0.0.1", () => socket.write(text))
    const out: Array<Buffer> = []
    socket.on("data", (d) => out.push(d))
    socket.on("close", () => resume(Effect.succeed(Buffer.concat(out).toString("latin1"))))
    socket.setTimeout(2000, () => socket.destroy())
  })

export const token = (tokenUrl: string, form: Record<string, string>) =>
  Effect.callback<{ status: number; body: any }>((resume) => {
    const body = new URLSearchParams(form).toString()
    const request = Http.request(tokenUrl, {
      method: "POST",
      headers: {
        "content-type": "application/x-www-form-urlencoded",
        "content-length": Buffer.byteLength(body)
      },
      agent: false
    })
    request.on("response", (res) => {
      const out: Array<Buffer> = []
      res.on("data", (d) => out.push(d))
      res.on("end", () =>
        resume(
          Effect.succeed({
            status: res.statusCode ?? 0,
            body: JSON.parse(Buffer.concat(out).toString() || "null")
          })
        )
      )
    })
    request.on("error", (e) => resume(Effect.die(e)))
    request.end(body)
  })

/** The global index of a record's hit: the low half of its hitIdHigh. */
export const indexOf = (record: string) => {
  const m = /"hitIdHigh":(\d+)/.exec(record)
  return Number(BigInt(m![1]) & 0xffffffffn)
}
