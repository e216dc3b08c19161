// src/bin/load.cjs loads the bundle with a code cache per chunk, taken at exit. The bundle is what
// `npm install` built (the root `prepare`); these runs use their own cache directory.
import { assert, describe, it } from "@effect/vitest"
import { spawnSync } from "node:child_process"
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"

const launcher = fileURLToPath(new URL("../src/bin/hitstream.js", import.meta.url))
const bundle = fileURLToPath(new URL("../dist/bundle/hitstream.js", import.meta.url))

const hitstream = (args: ReadonlyArray<string>, env: Record<string, string>) => {
  const result = spawnSync(process.execPath, [launcher, ...args], {
    encoding: "utf8",
    timeout: 60_000,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", ...env }
  })
  assert.strictEqual(result.status, 0, result.stderr)
  return result.stdout
}

/** The cache files, by name, with their modification times. */
const caches = (root: string): Map<string, number> => {
  const found = new Map<string, number>()
  if (!existsSync(root)) return found
  for (const sub of readdirSync(root)) {
    for (const name of readdirSync(join(root, sub))) {
      if (name.startsWith("hitstream-"))
        found.set(join(root, sub, name), statSync(join(root, sub, name)).mtimeMs)
    }
  }
  return found
}

describe("load.cjs", () => {
  it("keeps a cache per chunk, uses it on the next start, and replaces one that does not match", () => {
    assert.isTrue(
      existsSync(bundle),
      "the bundle is built by `npm install` (npm run bundle -w @hitstream/cli)"
    )
    const root = mkdtempSync(join(tmpdir(), "hitstream-cache-"))
    const env = { NODE_COMPILE_CACHE: root }
    const version = hitstream(["--version"], env)
    assert.match(version, /^hitstream v\d+\.\d+\.\d+/)
    const first = caches(root)
    // The command line's chunks at least: effect, its schemas, the program's main.
    assert.isAtLeast(first.size, 3, [...first.keys()].join(", "))
    for (const file of first.keys()) assert.isAbove(statSync(file).size, 0)
    // V8 checks a cache against the source's length only: a file whose name does not change
    // with its text (the entry, dist/bundle/hitstream.js) must never have one.
    for (const file of first.keys()) assert.match(file, /hitstream-.+-[\w-]{8}\.v8cache$/)

    assert.strictEqual(hitstream(["--version"], env), version)
    assert.deepStrictEqual(caches(root), first, "accepted caches are not written again")

    const [damaged] = first.keys()
    writeFileSync(damaged, Buffer.from("not a V8 code cache"))
    assert.strictEqual(hitstream(["--version"], env), version, "a damaged cache costs only speed")
    assert.notStrictEqual(readFileSync(damaged, "utf8"), "not a V8 code cache", "and is written again")
  })

  it("takes its caches before the program changes V8's flags, so that the next start accepts them", () => {
    const root = mkdtempSync(join(tmpdir(), "hitstream-cache-"))
    // As NodeHeap.compactHeap does in a streaming command: a flag change after the command line
    // has loaded. This one comes at exit, ahead of the loader's own exit handler.
    const late = join(mkdtempSync(join(tmpdir(), "hitstream-hook-")), "late-flag.cjs")
    writeFileSync(
      late,
      'process.on("exit", () => require("node:v8").setFlagsFromString("--semi-space-growth-factor=1"))\n'
    )
    const lateFlag = { NODE_COMPILE_CACHE: root, NODE_OPTIONS: `--require ${late}` }
    hitstream(["--version"], lateFlag)
    const saved = caches(root)
    assert.isAtLeast(saved.size, 3, "taken before the change")
    // Taken after the change, they would not match these starts' flags: rejected and rewritten.
    hitstream(["--version"], { NODE_COMPILE_CACHE: root })
    assert.deepStrictEqual(caches(root), saved, "the next start accepts them")
    hitstream(["--version"], lateFlag)
    assert.deepStrictEqual(caches(root), saved, "and so does one that changes flags again")
  })

  it("writes nothing when the compile cache is turned off", () => {
    const root = mkdtempSync(join(tmpdir(), "hitstream-cache-"))
    const version = hitstream(["--version"], { NODE_COMPILE_CACHE: root, NODE_DISABLE_COMPILE_CACHE: "1" })
    assert.match(version, /^hitstream v/)
    assert.strictEqual(caches(root).size, 0)
  })
})
