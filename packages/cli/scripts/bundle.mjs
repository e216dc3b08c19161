// Builds the `hitstream` program: one bundled ESM file, `dist/hitstream.bundle.js`, from the
// sources (the `@hitstream/source` condition), loaded by the launcher `src/bin/hitstream.js` after
// it has checked the Node version.
// Bundling with deep tree-shaking matters for startup: the `@effect/platform-node` barrel alone
// costs ~450 ms of module loading when imported unbundled.
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { build } from "rolldown"

const root = join(dirname(fileURLToPath(import.meta.url)), "..")

await build({
  input: join(root, "src", "bin.ts"),
  platform: "node",
  resolve: { conditionNames: ["@hitstream/source", "node", "import", "module", "default"] },
  output: {
    file: join(root, "dist", "hitstream.bundle.js"),
    format: "esm",
    minify: true,
    // One file: bin.ts's dynamic import (the program loads after V8's heap flags are set) is inlined.
    codeSplitting: false,
    // CommonJS dependencies inside the bundle call `require` for Node's own modules.
    banner:
      'import { createRequire as __hitstreamRequire } from "node:module"; const require = __hitstreamRequire(import.meta.url);'
  },
  logLevel: "warn"
})
