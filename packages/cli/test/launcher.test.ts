// The launcher (src/bin/hitstream.js) is what npm links as `hitstream`: it must turn away a Node
// that is too old with one line and exit 2, on any Node, before anything else loads.
import { assert, describe, it } from "@effect/vitest"
import { execFileSync, spawnSync } from "node:child_process"
import { readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { runInNewContext } from "node:vm"
import { Arbitrary, Schema } from "effect"

const launcher = fileURLToPath(new URL("../src/bin/hitstream.js", import.meta.url))
const source = readFileSync(launcher, "utf8").replace(/^#!.*\n/, "")
const engines: string = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")).engines
  .node
const [minMajor, minMinor] = /^>=(\d+)\.(\d+)/.exec(engines)!.slice(1).map(Number)

class Exit {
  readonly code: number
  constructor(code: number) {
    this.code = code
  }
}

/** Runs the launcher's text against a fake `process` of the given version. */
const launch = (version: string) => {
  let stderr = ""
  let imported = false
  try {
    runInNewContext(source.replace(/\bimport\(/g, "__import("), {
      process: {
        versions: { node: version },
        stderr: { write: (s: string) => (stderr += s) },
        exit: (code: number) => {
          throw new Exit(code)
        }
      },
      __import: () => {
        imported = true
        return new Promise(() => {})
      }
    })
  } catch (e) {
    if (e instanceof Exit) return { exit: e.code, stderr, imported }
    throw e
  }
  return { exit: undefined, stderr, imported }
}

const part = Arbitrary.schema(Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 40 })))

describe("the hitstream launcher", () => {
  it("declares the same minimum Node as package.json's engines", () => {
    assert.include(source, `major: ${minMajor}, minor: ${minMinor}`)
  })

  it.prop(
    "exits 2 with one line below the minimum, and loads the program otherwise",
    [part, part, part],
    ([major, minor, patch]) => {
      const version = `${major}.${minor}.${patch}`
      const result = launch(version)
      const supported = major > minMajor || (major === minMajor && minor >= minMinor)
      if (supported) {
        assert.isUndefined(result.exit)
        assert.isTrue(result.imported)
      } else {
        assert.strictEqual(result.exit, 2)
        assert.isFalse(result.imported)
        assert.strictEqual(result.stderr.split("\n").filter(Boolean).length, 1)
        assert.include(result.stderr, `found ${version}`)
        assert.include(result.stderr, `${minMajor}.${minMinor}`)
        assert.include(result.stderr, "npx hitstream")
      }
    }
  )

  // The machines this project runs on have Node 20 as their system Node: the real thing.
  const systemNode = spawnSync("/usr/bin/node", ["--version"], { encoding: "utf8" })
  const old = systemNode.status === 0 && Number(/^v(\d+)/.exec(systemNode.stdout)?.[1]) < minMajor
  it.runIf(old)("on the system's older Node: one line, exit 2, no stack trace", () => {
    const result = spawnSync("/usr/bin/node", [launcher, "--version"], { encoding: "utf8" })
    assert.strictEqual(result.status, 2)
    assert.strictEqual(result.stdout, "")
    assert.strictEqual(result.stderr.trim().split("\n").length, 1)
    assert.notInclude(result.stderr, "    at ")
    assert.include(result.stderr, "Install Node 24 LTS")
  })

  it("on the pinned Node: loads the bundle and prints the version", () => {
    const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"))
    const out = execFileSync(process.execPath, [launcher, "--version"], { encoding: "utf8" })
    assert.include(out, pkg.version)
  })
})
