// The command line's Node services load their modules on first use: they must behave as
// `NodeServices.layer` does, and `--version` must not load what they defer.
import { assert, describe, it } from "@effect/vitest"
import { Effect, FileSystem, Stream, Terminal } from "effect"
import { ChildProcess, ChildProcessSpawner } from "effect/process"
import { spawnSync } from "node:child_process"
import { join } from "node:path"
import * as LazyNodeServices from "../src/LazyNodeServices.ts"
import { bin, sourceFlags, tmp } from "./spawn.ts"

describe("LazyNodeServices", () => {
  it.effect("the file system works through the stand-in: effects, streams and sinks", () =>
    Effect.gen(function* () {
      const fs = yield* FileSystem.FileSystem
      const file = join(tmp(), "a.txt")
      yield* fs.writeFileString(file, "one\n")
      assert.strictEqual(yield* fs.readFileString(file), "one\n")
      assert.isTrue(yield* fs.exists(file))
      assert.isFalse(yield* fs.exists(`${file}.missing`))
      yield* Stream.make(new TextEncoder().encode("two\n")).pipe(Stream.run(fs.sink(file, { flag: "a" })))
      const text = yield* fs.stream(file).pipe(Stream.decodeText(), Stream.mkString)
      assert.strictEqual(text, "one\ntwo\n")
      const failed = yield* Effect.flip(fs.readFileString(`${file}.missing`))
      assert.strictEqual(failed._tag, "PlatformError", "errors come through typed, as from NodeFileSystem")
    }).pipe(Effect.scoped, Effect.provide(LazyNodeServices.layer))
  )

  it.effect("the spawner and the terminal work through their stand-ins", () =>
    Effect.gen(function* () {
      const spawner = yield* ChildProcessSpawner.ChildProcessSpawner
      const out = yield* spawner.string(
        ChildProcess.make(process.execPath, ["-e", "process.stdout.write('hi')"])
      )
      assert.strictEqual(out, "hi")
      const code = yield* spawner.exitCode(ChildProcess.make(process.execPath, ["-e", "process.exit(3)"]))
      assert.strictEqual(Number(code), 3)
      const terminal = yield* Terminal.Terminal
      const columns = yield* terminal.columns
      assert.isAtLeast(columns, 0)
    }).pipe(Effect.scoped, Effect.provide(LazyNodeServices.layer))
  )

  it("`hitstream --version` loads neither child_process, crypto nor readline", () => {
    // Prints the Node modules the process loaded, on exit, after the program's own output. (`net`
    // is not checked: a piped stdout is a socket.)
    const hook = `data:text/javascript,import {writeSync} from "node:fs";process.on("exit",()=>writeSync(1,"\\n"+JSON.stringify(process.moduleLoadList)))`
    const result = spawnSync(process.execPath, [...sourceFlags, "--import", hook, bin, "--version"], {
      encoding: "utf8",
      timeout: 60_000
    })
    assert.strictEqual(result.status, 0, result.stderr)
    const lines = result.stdout.trim().split("\n")
    const version = lines[0]
    const list = lines[lines.length - 1]
    assert.match(version, /^hitstream v\d+\.\d+\.\d+/)
    const loaded: Array<string> = JSON.parse(list)
    assert.includeMembers(loaded, ["NativeModule fs"], "the hook sees the module list")
    for (const name of ["child_process", "crypto", "readline", "dgram"]) {
      assert.notInclude(loaded, `NativeModule ${name}`, `${name} is loaded on first use only`)
    }
  })
})
