// The proof that hitstream works outside this repository: pack every publishable package, install
// the tarballs into a fresh directory elsewhere, then run the installed program directly (not
// through npx) and build and run an example app against the installed library and its `.d.ts`.
import { type ChildProcess, execFileSync, spawn } from "node:child_process"
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll, beforeAll, describe, expect, it } from "vitest"

const repo = fileURLToPath(new URL("../..", import.meta.url))
const publishable = ["core", "client", "simulator", "nats", "dashboard", "cli"]
// The pinned Node (the root `node` devDependency) first on PATH: `#!/usr/bin/env node` finds it,
// as it would find a user's Node 24.
const nodeDir = dirname(process.execPath)
const env = { ...process.env, PATH: `${nodeDir}:${process.env.PATH ?? ""}`, NODE_OPTIONS: "" }

interface Packed {
  readonly name: string
  readonly filename: string
  readonly size: number
  readonly files: ReadonlyArray<{ readonly path: string }>
}

let work: string
let packed: ReadonlyArray<Packed>
const children: Array<ChildProcess> = []

const run = (
  command: string,
  args: ReadonlyArray<string>,
  cwd: string,
  extra: Record<string, string> = {}
) => {
  try {
    return execFileSync(command, args, {
      cwd,
      env: { ...env, ...extra },
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"]
    })
  } catch (error) {
    // tsc and npm say what went wrong on stdout as often as on stderr: show both.
    const { stdout, stderr } = error as { stdout?: string; stderr?: string }
    throw new Error(`${command} ${args.join(" ")} failed:\n${stdout ?? ""}\n${stderr ?? ""}`, {
      cause: error
    })
  }
}

/** Starts `hitstream simulate` from the install and resolves with the environment it prints. */
const startSimulator = (bin: string, cwd: string) =>
  new Promise<Record<string, string>>((resolve, reject) => {
    const child = spawn(bin, ["simulate", "--port", "0", "--rate", "500"], { cwd, env })
    children.push(child)
    let stderr = ""
    const timer = setTimeout(() => reject(new Error(`simulator did not start:\n${stderr}`)), 30_000)
    child.stderr.on("data", (d) => {
      stderr += d
      const vars = Object.fromEntries(
        [...stderr.matchAll(/export (HITSTREAM_\w+)=(\S+)/g)].map((m) => [m[1], m[2]])
      )
      if (vars.HITSTREAM_CLIENT_SECRET !== undefined) {
        clearTimeout(timer)
        resolve(vars)
      }
    })
    child.on("exit", (code) => reject(new Error(`simulator exited with ${code}:\n${stderr}`)))
  })

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), "hitstream-install-"))
  const out = run(
    "npm",
    ["pack", "--json", "--pack-destination", work, ...publishable.flatMap((p) => ["-w", `packages/${p}`])],
    repo
  )
  packed = JSON.parse(out.slice(out.indexOf("[")))
  const dependencies = Object.fromEntries(packed.map((p) => [p.name, `file:./${p.filename}`]))
  writeFileSync(
    join(work, "package.json"),
    JSON.stringify({
      name: "installed",
      private: true,
      type: "module",
      dependencies: { ...dependencies, effect: "^4.1.0", "@types/node": "^24.0.0" }
    })
  )
  run("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline", "--loglevel=error"], work)
})

afterAll(() => {
  for (const child of children) child.kill("SIGKILL")
  if (work !== undefined) rmSync(work, { recursive: true, force: true })
})

describe("the packed packages, installed outside the repository", () => {
  it("ship only dist and src: no tests, fixtures or tsconfig files", () => {
    for (const p of packed) {
      console.log(`${p.filename}: ${(p.size / 1024).toFixed(1)} KiB, ${p.files.length} files`)
      const paths = p.files.map((f) => f.path)
      expect(
        paths.filter((path) => /(^|\/)test\/|\.test\.|fixtures|tsconfig|vitest|tsbuildinfo/.test(path))
      ).toEqual([])
      expect(
        paths.every(
          (path) =>
            /^(dist|src)\//.test(path) || /^(package\.json|README\.md|CHANGELOG\.md|LICENSE)$/.test(path)
        )
      ).toBe(true)
      expect(paths).toContain("dist/index.js")
      expect(paths).toContain("dist/index.d.ts")
    }
  })

  it("runs `hitstream --version` and `hitstream run` directly, writing the simulator's hits", async () => {
    const bin = join(work, "node_modules", ".bin", "hitstream")
    const version = JSON.parse(readFileSync(join(repo, "packages/cli/package.json"), "utf8")).version
    expect(run(bin, ["--version"], work).trim()).toContain(version)
    const sim = await startSimulator(bin, work)
    const out = run(bin, ["run", "--limit", "200", "--min-reconnect-delay", "1s"], work, sim)
    const lines = out.trim().split("\n")
    expect(lines).toHaveLength(200)
    for (const line of lines) expect(JSON.parse(line)).toHaveProperty("hitIdHigh")
  })

  it("typechecks examples/top-pages against the installed .d.ts and runs it", async () => {
    const app = join(work, "app")
    cpSync(join(repo, "examples/top-pages/src"), join(app, "src"), { recursive: true })
    cpSync(join(repo, "packaging/test/tsconfig.app.json"), join(app, "tsconfig.json"))
    // The app resolves packages from the install's node_modules, one level up, as in any project.
    writeFileSync(join(app, "package.json"), JSON.stringify({ name: "app", private: true, type: "module" }))
    run(join(repo, "node_modules/.bin/tsc"), ["-p", join(app, "tsconfig.json")], app)
    const sim = await startSimulator(join(work, "node_modules", ".bin", "hitstream"), work)
    const out = run(process.execPath, ["src/main.ts"], app, { ...sim, ...topPagesSettings })
    expect(out).toMatch(/top 10 pages/)
    expect(out).toMatch(/top 10 countries/)
  })
})

// Settings that make the example print one short window and exit (see examples/top-pages/README.md).
const topPagesSettings = {
  HITSTREAM_EXAMPLE_WINDOW: "2 seconds",
  HITSTREAM_EXAMPLE_TABLES: "1",
  HITSTREAM_MIN_RECONNECT_DELAY: "1s"
}
