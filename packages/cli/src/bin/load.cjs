"use strict"
// Loads the bundled program (dist/bundle/, CommonJS chunks built by scripts/bundle.mjs) with V8's
// code cache for each chunk, taken when the process exits rather than when the chunk is compiled.
//
// Why not Node's own compile cache: it stores a module's code as compiled before it runs, which
// holds only its top level. Every function start-up then calls (effect's module set-up, the
// command line's parser) was compiled again on each start: a fifth of `hitstream --version`'s
// instructions. A cache taken at exit holds them too. V8 checks each cache against the source
// and its own version and flags, and rejects one that does not match; a rejected or missing
// cache is rewritten at exit. The files live in Node's compile-cache directory (`NODE_COMPILE_CACHE`
// moves it; `NODE_DISABLE_COMPILE_CACHE=1` turns this off too), one per chunk, named for the
// chunk's content hash.
const Module = require("node:module")
const fs = require("node:fs")
const path = require("node:path")
const vm = require("node:vm")

const dir = path.join(__dirname, "..", "..", "dist", "bundle")
const entry = path.join(dir, "hitstream.js")

if (Module.enableCompileCache) Module.enableCompileCache()
const cacheDir = Module.getCompileCacheDir ? Module.getCompileCacheDir() : undefined

const loaded = new Map()
const toSave = []

// V8 checks a cache against its flags too, and the program changes two heap flags while it runs
// (NodeHeap.compactHeap: one at start, one once the young generation has grown). A cache taken
// after a change would not match the next start, which compiles under the flags of before it:
// it would be rejected and written again on every run. So each change starts a new epoch, and
// at exit only chunks compiled in the current epoch are saved.
const v8 = require("node:v8")
let epoch = 0
const setFlagsFromString = v8.setFlagsFromString
v8.setFlagsFromString = function (flags) {
  epoch++
  return setFlagsFromString.call(this, flags)
}

const cacheFileOf = (file) =>
  cacheDir === undefined ? undefined : path.join(cacheDir, `hitstream-${path.basename(file, ".js")}.v8cache`)

const readCache = (file) => {
  try {
    return file === undefined ? undefined : fs.readFileSync(file)
  } catch {
    return undefined
  }
}

// A chunk is a CommonJS module body: it requires its sibling chunks by "./name.js" (those load
// through here, once each) and Node's own modules and packages through Node.
const load = (file) => {
  const known = loaded.get(file)
  if (known !== undefined) return known.exports
  const module = { exports: {}, id: file, filename: file, loaded: false }
  loaded.set(file, module)
  // (The entry, a few lines, is compiled before the first flag change: it is never saved.)
  const cacheFile = cacheFileOf(file)
  const cachedData = readCache(cacheFile)
  const script = new vm.Script(Module.wrap(fs.readFileSync(file, "utf8")), {
    filename: file,
    cachedData,
    importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER
  })
  if (cacheFile !== undefined && (cachedData === undefined || script.cachedDataRejected)) {
    toSave.push({ script, cacheFile, epoch })
  }
  const nodeRequire = Module.createRequire(file)
  const require = (id) => (id.startsWith("./") ? load(path.join(dir, id)) : nodeRequire(id))
  script.runInThisContext().call(module.exports, module.exports, require, module, file, dir)
  module.loaded = true
  return module.exports
}

process.once("exit", () => {
  for (const { script, cacheFile, epoch: compiledIn } of toSave) {
    if (compiledIn !== epoch) continue
    // Written whole or not at all: fleet processes on one machine may start together.
    const partial = `${cacheFile}.${process.pid}`
    try {
      fs.writeFileSync(partial, script.createCachedData())
      fs.renameSync(partial, cacheFile)
    } catch {
      // A read-only or full disk costs only the next start's speed.
      try {
        fs.rmSync(partial, { force: true })
      } catch {}
    }
  }
})

module.exports = { load: () => load(entry), entry }
