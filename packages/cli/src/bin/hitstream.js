#!/usr/bin/env node
// The `hitstream` launcher, the file npm links as the bin: it checks the Node version, then
// load.cjs loads the bundled program (dist/bundle/hitstream.js and its chunks, built by
// scripts/bundle.mjs on `npm install` in a clone and on `npm pack`). It is plain JavaScript kept to syntax every Node since 14 parses, so
// an old Node prints one line and exits 2 instead of a stack trace about syntax or module formats.
var required = { major: 22, minor: 19 }
var found = process.versions.node
var parts = found.split(".")
var major = Number(parts[0])
var minor = Number(parts[1])
if (major < required.major || (major === required.major && minor < required.minor)) {
  process.stderr.write(
    "hitstream: needs Node.js " +
      required.major +
      "." +
      required.minor +
      " or newer (Node 24 LTS recommended), found " +
      found +
      ". " +
      "Install Node 24 LTS, or inside the hitstream repository run `npx hitstream`, which uses the pinned Node.\n"
  )
  process.exit(2)
}
// V8's compile cache (Node 22.1+) keeps compiled code between runs: parsing and compiling is most
// of a cold start. Node's covers this file and load.cjs; load.cjs keeps the bundle's own.
import("node:module")
  .then(function (module) {
    if (module.enableCompileCache) module.enableCompileCache()
    return import("./load.cjs")
  })
  .then(function (loader) {
    loader.default.load()
  })
  .catch(function (error) {
    var missing = error && error.code === "ENOENT" && String(error.path).indexOf("dist") >= 0
    process.stderr.write(
      missing
        ? "hitstream: the bundled program is missing; run `npm run build -w @hitstream/cli` (or `npm install`) in the repository.\n"
        : "hitstream: " + (error && error.stack ? error.stack : String(error)) + "\n"
    )
    process.exit(1)
  })
