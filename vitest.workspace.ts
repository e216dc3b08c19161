// vitest 5 removed native workspace files: this config lists the projects, and the root
// `npm test` passes it with `--config`, so one command runs every package's tests.
import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    projects: ["packages/*", "examples/*", "packaging"]
  }
})
