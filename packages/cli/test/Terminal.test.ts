import { assert, describe, it } from "@effect/vitest"
import { Hit } from "@hitstream/core"
import { Effect } from "effect"
import { spawn } from "node:child_process"
import { Demo, Terminal } from "../src/index.ts"
import { bin, sourceFlags } from "./spawn.ts"

/** What a terminal shows for the bytes written to it: CR, erase-line, LF and plain text. */
const screen = (output: string) => {
  const lines: Array<string> = []
  let line = ""
  let col = 0
  for (let i = 0; i < output.length; i++) {
    if (output.startsWith("\x1b[K", i)) {
      line = line.slice(0, col)
      i += 2
    } else if (output[i] === "\r") col = 0
    else if (output[i] === "\n") {
      lines.push(line)
      line = ""
      col = 0
    } else {
      line = line.slice(0, col) + output[i] + line.slice(col + 1)
      col++
    }
  }
  return { lines, current: line }
}

const hit = (page: string, city: string) =>
  Hit.parse(
    `{"hitIdHigh":12345,"hitIdLow":1,"pageName":${JSON.stringify(page)},"geoCity":${JSON.stringify(city)}}`
  ) as Hit.Hit

describe("Terminal", () => {
  it("pads and cuts by display columns: wide characters keep columns aligned", () => {
    assert.strictEqual(Terminal.width("東京"), 4)
    assert.strictEqual(Terminal.width(Terminal.padEnd("東京", 12)), 12)
    assert.strictEqual(Terminal.width(Terminal.padEnd("Zürich", 12)), 12)
    assert.strictEqual(Terminal.truncate("東京東京", 5), "東京", "no half character")
    const lines = [hit("Home", "東京"), hit("Startseite für Sie", "Zürich"), hit("😀 page", "Paris")].map(
      Demo.demoLine
    )
    const idColumn = lines.map((l) => Terminal.width(l.slice(0, l.lastIndexOf(" 12345"))))
    assert.deepStrictEqual(idColumn, [idColumn[0], idColumn[0], idColumn[0]])
  })

  it("the status line stays at the bottom: text written above it never runs into it", () => {
    let out = ""
    const line = new Terminal.StatusLine(
      (t) => void (out += t),
      () => 40
    )
    line.show("slot 0: streaming 5 hits/s | dup 0 bad 0")
    line.above("Page #1 東京\nPage #2 Paris\n")
    line.show("slot 0: streaming 6 hits/s, a line far too long for forty columns")
    line.above("a log line")
    const { lines, current } = screen(out)
    assert.deepStrictEqual(lines, ["Page #1 東京", "Page #2 Paris", "a log line"])
    assert.strictEqual(
      current,
      Terminal.truncate("slot 0: streaming 6 hits/s, a line far too long for forty columns", 39)
    )
    line.clear()
    assert.strictEqual(screen(out).current, "")
  })

  it.live(
    "demo on a pseudo-terminal: hits and notes scroll above the status line, never onto it",
    () =>
      Effect.gen(function* () {
        const command = [
          process.execPath,
          ...sourceFlags,
          bin,
          "demo",
          "--duration",
          "6s",
          "--rate",
          "40",
          "--min-reconnect-delay",
          "1s"
        ]
          .map((a) => `'${a}'`)
          .join(" ")
        // util-linux `script` runs the command on a pseudo-terminal: stdout and stderr both a TTY.
        const output = yield* Effect.callback<{ code: number | null; text: string }>((resume) => {
          const child = spawn("script", ["-qfec", `stty cols 120; ${command}`, "/dev/null"], {
            env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", TERM: "xterm" },
            stdio: ["ignore", "pipe", "pipe"]
          })
          let text = ""
          child.stdout.setEncoding("utf8")
          child.stdout.on("data", (d: string) => (text += d))
          child.on("close", (code) => resume(Effect.succeed({ code, text })))
          return Effect.sync(() => child.kill("SIGKILL"))
        }).pipe(Effect.timeout("60 seconds"), Effect.orDie)
        assert.strictEqual(output.code, 0, output.text)
        assert.include(output.text, "\x1b[K", "the status line is drawn in place")
        const { lines } = screen(output.text.replace(/\r\n/g, "\n"))
        const hits = lines.filter((l) => / \d{5,}$/.test(l))
        assert.isAbove(hits.length, 50, "hits on the terminal")
        for (const l of lines)
          assert.notInclude(l, "[demo] slot", `a status fragment in a scrolled line: ${l}`)
        assert.match(output.text, /missing: 0/)
      }),
    90_000
  )
})
