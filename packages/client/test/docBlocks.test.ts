// Every ```ts block of docs/*.md and of every README compiles against the packages' sources: the
// blocks are written to build/doc-blocks (one file each, named after the document and the line
// the block starts on) and type-checked as one tsc program with the `@hitstream/source`
// condition. An error is reported at its line in the document.
import { assert, describe, it } from "@effect/vitest"
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"

const root = path.resolve(import.meta.dirname, "../../..")
const out = path.resolve(import.meta.dirname, "../build/doc-blocks")

const markdown = (dir: string, pattern: RegExp) =>
  fs.existsSync(path.join(root, dir))
    ? fs
        .readdirSync(path.join(root, dir))
        .filter((name) => pattern.test(name))
        .map((name) => path.join(dir, name))
    : []

const documents = (): Array<string> => [
  "README.md",
  ...markdown("docs", /\.md$/),
  ...["packages", "examples"].flatMap((group) =>
    fs
      .readdirSync(path.join(root, group))
      .map((name) => path.join(group, name, "README.md"))
      .filter((file) => fs.existsSync(path.join(root, file)))
  )
]

interface Block {
  readonly document: string
  /** The document's line of the block's first code line. */
  readonly line: number
  readonly code: string
  readonly file: string
}

const fence = /^```(?:ts|typescript)\b[^\n]*\n([\s\S]*?)^```/gm

const blocks = (): Array<Block> =>
  documents().flatMap((document) => {
    const text = fs.readFileSync(path.join(root, document), "utf8")
    return [...text.matchAll(fence)].map((match) => {
      const line = text.slice(0, match.index).split("\n").length + 1
      const file = `${document.replace(/[^a-zA-Z0-9]+/g, "_")}_L${line}.ts`
      return { document, line, code: match[1], file }
    })
  })

describe("documentation code blocks", () => {
  it("every ```ts block in docs/*.md and the READMEs compiles", { timeout: 180_000 }, () => {
    const all = blocks()
    assert.isAbove(all.length, 5, "the blocks were found")
    fs.rmSync(out, { recursive: true, force: true })
    fs.mkdirSync(out, { recursive: true })
    for (const block of all) fs.writeFileSync(path.join(out, block.file), `${block.code}\nexport {}\n`)
    fs.writeFileSync(
      path.join(out, "tsconfig.json"),
      JSON.stringify({
        extends: path.relative(out, path.join(root, "tsconfig.base.json")),
        compilerOptions: {
          noEmit: true,
          composite: false,
          declaration: false,
          declarationMap: false,
          sourceMap: false,
          incremental: false,
          // A snippet shows a use; what it leaves unused is the reader's to use.
          noUnusedLocals: false,
          noUnusedParameters: false
        },
        include: ["*.ts"]
      })
    )
    const tsc = path.join(root, "node_modules/typescript/bin/tsc")
    const result = spawnSync(process.execPath, [tsc, "-p", out, "--pretty", "false"], {
      cwd: root,
      encoding: "utf8"
    })
    // `build/doc-blocks/docs_client_md_L10.ts(3,5): error TS...` -> `docs/client.md:12:5: error TS...`
    const byFile = new Map(all.map((block) => [block.file, block]))
    const errors = `${result.stdout}${result.stderr}`
      .split("\n")
      .filter((line) => line.trim() !== "")
      .map((line) => {
        const at = /([^/\\(]+\.ts)\((\d+),(\d+)\): (.*)$/.exec(line)
        const block = at === null ? undefined : byFile.get(at[1])
        return block === undefined || at === null
          ? line
          : `${block.document}:${block.line + Number(at[2]) - 1}:${at[3]}: ${at[4]}`
      })
    assert.deepStrictEqual(errors, [], `doc blocks that do not compile:\n${errors.join("\n")}`)
    assert.strictEqual(result.status, 0)
  })
})
