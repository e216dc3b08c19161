// After `changeset version` bumps every package.json, writes the version `hitstream --version`
// prints (packages/cli/src/version.ts); the cli's tests check the two agree.
import { readFileSync, writeFileSync } from "node:fs"

const { version } = JSON.parse(readFileSync(new URL("../packages/cli/package.json", import.meta.url), "utf8"))
const file = new URL("../packages/cli/src/version.ts", import.meta.url)
const text = readFileSync(file, "utf8").replace(
  /export const version = "[^"]*"/,
  `export const version = "${version}"`
)
writeFileSync(file, text)
console.log(`packages/cli/src/version.ts: ${version}`)
