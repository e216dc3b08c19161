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

// V8 checks a cache against its flags too, and a streaming command changes two heap flags while
// it runs (NodeHeap.compactHeap: one when it starts, one once the young generation has grown).
// A cache taken after a change would not match the next start, which compiles under the flags of
// before it: rejected and written again on every run. So the caches of the chunks compiled so far
// are taken just before the first change, and at exit only those and the chunks compiled under
// the flags the process ends with are saved.
const v8 = require("node:v8")
let epoch = 0
const setFlagsFromString = v8.setFlagsFromString
v8.setFlagsFromString = function (flags) {
  for (const pending of toSave) {
    if (pending.epoch === epoch && pending.data === undefined)
      pending.data = pending.script.createCachedData()
  }
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
  // V8 checks a cache against the source's length, not its text: a cache is only ever looked up
  // by a name that changes with the text. The chunks' names carry a hash of their content; the
  // entry's (a few lines) does not, so it is never cached.
  const cacheFile = file === entry ? undefined : cacheFileOf(file)
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
  for (const pending of toSave) {
    const data = pending.data ?? (pending.epoch === epoch ? pending.script.createCachedData() : undefined)
    if (data === undefined) continue
    // Written whole or not at all: fleet processes on one machine may start together.
    const partial = `${pending.cacheFile}.${process.pid}`
    try {
      fs.writeFileSync(partial, data)
      fs.renameSync(partial, pending.cacheFile)
    } catch {
      // A read-only or full disk costs only the next start's speed.
      try {
        fs.rmSync(partial, { force: true })
      } catch {}
    }
  }
})

module.exports = { load: () => load(entry) }
