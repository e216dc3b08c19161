import { describe, expect, it } from "@effect/vitest"
import { readFileSync } from "node:fs"
import { version } from "../src/version.ts"

describe("version", () => {
  it("is the package's version (scripts/sync-version.mjs keeps them equal after `changeset version`)", () => {
    const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"))
    expect(version).toBe(pkg.version)
  })
})
