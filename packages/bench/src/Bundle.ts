/**
 * The `hitstream` program as users run it: the launcher (`packages/cli/src/bin/hitstream.js`) and
 * the bundle it imports (`packages/cli/dist/bundle/hitstream.js`). The whole-process rows measure
 * that, not the sources (type stripping at start and every module's text kept would be counted
 * against hitstream); the bundle is built first when it is missing or older than any source it is
 * built from.
 *
 * @since 0.1.0
 */
import { spawnSync } from "node:child_process"
import { existsSync, readdirSync, statSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath } from "node:url"

const packagesDir = fileURLToPath(new URL("../../", import.meta.url))

/**
 * The launcher npm links as the `hitstream` bin.
 *
 * @since 0.1.0
 */
export const launcher = join(packagesDir, "cli", "src", "bin", "hitstream.js")

/**
 * The bundled program the launcher imports.
 *
 * @since 0.1.0
 */
export const bundle = join(packagesDir, "cli", "dist", "bundle", "hitstream.js")

// Every workspace package the bundle takes code from (the CLI imports all of them).
const bundled = ["core", "client", "cli", "dashboard", "nats", "simulator"]

/**
 * The newest modification time of a source file the bundle is built from.
 *
 * @since 0.1.0
 */
export const newestSource = (): number => {
  let newest = 0
  for (const pkg of bundled) {
    const dir = join(packagesDir, pkg, "src")
    if (!existsSync(dir)) continue
    for (const file of readdirSync(dir, { recursive: true }) as Array<string>) {
      if (/\.(ts|js|mjs)$/.test(file)) newest = Math.max(newest, statSync(join(dir, file)).mtimeMs)
    }
  }
  return newest
}

/**
 * Whether the bundle exists and is at least as new as every source it is built from.
 *
 * @since 0.1.0
 */
export const isFresh = (): boolean => existsSync(bundle) && statSync(bundle).mtimeMs >= newestSource()

/**
 * Builds the bundle (`npm run bundle -w @hitstream/cli`, run as its script) when it is missing or
 * stale; throws with the builder's output when the build fails. What was done, for the log.
 *
 * @since 0.1.0
 */
export const ensure = (): string => {
  if (isFresh()) return "the bundle is fresh"
  const cli = join(packagesDir, "cli")
  const result = spawnSync(process.execPath, [join(cli, "scripts", "bundle.mjs")], {
    cwd: cli,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"]
  })
  if (result.status !== 0 || !existsSync(bundle)) {
    throw new Error(
      `building the hitstream bundle (npm run bundle -w @hitstream/cli) failed with ${result.status}: ${result.stderr}${result.stdout}`
    )
  }
  return "built the bundle (it was missing or older than the sources)"
}
