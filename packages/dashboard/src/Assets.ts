/**
 * The page's files, read once when the dashboard starts: its HTML, script, style sheet and icon
 * (shipped in this package's `src/page`) and uPlot's script and style sheet (from the `uplot`
 * dependency). Nothing is fetched from anywhere else, and users build nothing.
 *
 * The files are found through module resolution from this package's `package.json`, not from
 * this module's own path, so that they are found alike from the sources, from `dist`, and from a
 * program bundled into one file (the `hitstream` bin).
 *
 * @since 0.1.0
 */
import { Effect, FileSystem, Schema } from "effect"
import { createRequire } from "node:module"
import { dirname, join } from "node:path"

/**
 * A file the dashboard serves.
 *
 * @since 0.1.0
 */
export interface Asset {
  readonly contentType: string
  readonly body: Uint8Array
}

/**
 * A page file could not be read: the package is installed incompletely.
 *
 * @since 0.1.0
 */
export class AssetsMissing extends Schema.TaggedError<AssetsMissing>()("AssetsMissing", {
  path: Schema.String,
  message: Schema.String
}) {}

const page = [
  ["/", "index.html", "text/html; charset=utf-8"],
  ["/assets/app.js", "app.js", "text/javascript; charset=utf-8"],
  ["/assets/app.css", "app.css", "text/css; charset=utf-8"],
  ["/assets/favicon.svg", "favicon.svg", "image/svg+xml"]
] as const

const uplot = [
  ["/assets/uPlot.iife.min.js", "uplot/dist/uPlot.iife.min.js", "text/javascript; charset=utf-8"],
  ["/assets/uPlot.min.css", "uplot/dist/uPlot.min.css", "text/css; charset=utf-8"]
] as const

/**
 * Where each file is on disk, by the path it is served at.
 *
 * @since 0.1.0
 */
export const locate = (): Effect.Effect<ReadonlyArray<readonly [string, string, string]>, AssetsMissing> =>
  Effect.try({
    try: () => {
      const packageJson = createRequire(import.meta.url).resolve("@hitstream/dashboard/package.json")
      const fromPackage = createRequire(packageJson)
      const pageDir = join(dirname(packageJson), "src", "page")
      return [
        ...page.map(([path, file, type]) => [path, join(pageDir, file), type] as const),
        ...uplot.map(([path, module, type]) => [path, fromPackage.resolve(module), type] as const)
      ]
    },
    catch: (cause) =>
      new AssetsMissing({
        path: "@hitstream/dashboard",
        message: `the dashboard's page files were not found (${String(cause)}): reinstall @hitstream/dashboard and its dependency uplot`
      })
  })

/**
 * Reads every file, by the path it is served at.
 *
 * @since 0.1.0
 */
export const load: Effect.Effect<
  ReadonlyMap<string, Asset>,
  AssetsMissing,
  FileSystem.FileSystem
> = Effect.gen(function* () {
  const fs = yield* FileSystem.FileSystem
  const files = yield* locate()
  const assets = new Map<string, Asset>()
  for (const [path, file, contentType] of files) {
    const body = yield* fs.readFile(file).pipe(
      Effect.mapError(
        (cause) =>
          new AssetsMissing({
            path: file,
            message: `the dashboard's page file ${file} could not be read (${cause.message}): reinstall @hitstream/dashboard`
          })
      )
    )
    assets.set(path, { contentType, body })
  }
  return assets
})
