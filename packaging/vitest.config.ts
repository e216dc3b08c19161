import { defineConfig } from "vitest/config"

// The packaging proof runs on what `npm pack` produces, so it needs no source condition.
export default defineConfig({
  test: {
    name: "packaging",
    include: ["test/**/*.test.ts"],
    testTimeout: 300_000,
    hookTimeout: 300_000
  }
})
