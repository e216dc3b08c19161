// Builds the `hitstream` program: an entry, `dist/bundle/hitstream.js`, and the chunks it loads on
// demand, from the sources (the `@hitstream/source` condition). The launcher `src/bin/hitstream.js`
// checks the Node version, then `src/bin/load.cjs` loads the entry.
// Bundling with deep tree-shaking matters for startup: the `@effect/platform-node` barrel alone
// costs ~450 ms of module loading when imported unbundled.
// CommonJS, not ES modules: `load.cjs` compiles each chunk itself with V8's code cache taken after
// the chunk has run, which holds the functions start-up called; Node's compile cache for ES modules
// is taken before, so every start compiled those again (a fifth of `--version`'s instructions).
import { rm, writeFile } from "node:fs/promises"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { build } from "rolldown"

const root = join(dirname(fileURLToPath(import.meta.url)), "..")

// Chunk names carry hashes: start from an empty directory so no stale chunk ships.
await rm(join(root, "dist", "bundle"), { recursive: true, force: true })

// effect/cli's CliOutput builds an `Intl.Segmenter` when its module loads. That loads ICU's
// break-iterator data, about a sixth of the instructions of `hitstream --version`, which never
// measures a string. The bundle builds it on first use instead: same segmenter, same results.
const eagerSegmenter =
  /const graphemeSegmenter = \/\*#__PURE__\*\/\s*new Intl\.Segmenter\(undefined, \{\s*granularity: "grapheme"\s*\}\);/
const lazySegmenter = {
  name: "hitstream:lazy-grapheme-segmenter",
  transform(code, id) {
    if (!/effect[\\/]dist[\\/]cli[\\/]CliOutput\.js$/.test(id)) return null
    if (!eagerSegmenter.test(code)) {
      // A newer effect may have changed it: the program still works, it only starts slower.
      this.warn("effect/cli's CliOutput no longer matches: its Intl.Segmenter stays eager (slower start)")
      return null
    }
    return code.replace(
      eagerSegmenter,
      'let graphemeSegmenterInstance; const graphemeSegmenter = { segment: (text) => (graphemeSegmenterInstance ??= new Intl.Segmenter(undefined, { granularity: "grapheme" })).segment(text) };'
    )
  }
}

await build({
  input: join(root, "src", "bin.ts"),
  plugins: [lazySegmenter],
  platform: "node",
  resolve: { conditionNames: ["@hitstream/source", "node", "import", "module", "default"] },
  // The chunks are scripts: `import.meta.url` becomes the chunk's own URL (the dashboard finds its
  // assets from it); effect's `import.meta?.env` reads nothing, as under Node.
  transform: { define: { "import.meta.url": "__hitstreamUrl", "import.meta": "{}" } },
  output: {
    dir: join(root, "dist", "bundle"),
    entryFileNames: "hitstream.js",
    chunkFileNames: "[name]-[hash].js",
    format: "cjs",
    minify: true,
    // Chunks, not one file: a command's code, and the Node modules it needs (http, tls, zlib),
    // load when that command runs. `--help` and `--version` load the command line alone, which
    // halves the start (measured in `npm run bench -- --startup`). bin.ts's dynamic import also
    // keeps V8's heap flags ahead of the program's modules.
    banner: 'var __hitstreamUrl = require("node:url").pathToFileURL(__filename).href;'
  },
  logLevel: "warn"
})

// The package is "type": "module"; these files are CommonJS if anything but load.cjs requires them.
await writeFile(join(root, "dist", "bundle", "package.json"), '{ "type": "commonjs" }\n')
