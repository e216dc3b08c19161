// One place for what every package's vitest project shares. The `@hitstream/source` export
// condition makes `@hitstream/*` imports resolve to `src/*.ts`, so tests run on source with no
// build step; vitest 5 runs tests through Vite's SSR resolver, which reads `ssr.resolve.conditions`
// (plain `resolve.conditions` would still load `dist`).
import { defaultServerConditions } from "vite"
import { defineConfig } from "vitest/config"

export const sourceCondition = "@hitstream/source"

export const project = (name: string) =>
  defineConfig({
    ssr: { resolve: { conditions: [sourceCondition, ...defaultServerConditions] } },
    test: {
      name,
      include: ["test/**/*.test.ts"]
    }
  })
