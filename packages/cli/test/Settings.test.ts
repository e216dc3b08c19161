import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { Settings, Sources } from "../src/index.ts"

describe("Settings", () => {
  it.effect("precedence through composed providers: flags > environment > file > defaults", () =>
    Effect.gen(function* () {
      const merged = yield* Sources.merge(
        { format: "json", smoothing: false, maxConnections: 2 },
        {
          HITSTREAM_FORMAT: "raw",
          HITSTREAM_SMOOTHING: "true",
          HITSTREAM_SINK: "",
          HITSTREAM_LOG_LEVEL: "debug"
        },
        { format: "raw", logLevel: "warn", sink: "file:/x", scopes: ["a", "b"] }
      )
      assert.strictEqual(merged.format, "json", "flag over env and file")
      assert.strictEqual(merged.smoothing, "false", "--no-smoothing over the environment")
      assert.strictEqual(merged.maxConnections, "2")
      assert.strictEqual(merged.logLevel, "debug", "env over file")
      assert.strictEqual(merged.sink, "file:/x", "an empty variable is unset: the file decides")
      assert.strictEqual(merged.scopes, "a,b", "lists as the environment writes them")
      assert.isUndefined(merged.metricsPort, "absent everywhere: the default applies later")
    })
  )

  it.effect("secrets: never from a flag; from a config file refused, naming the key and the ways", () =>
    Effect.gen(function* () {
      const merged = yield* Sources.merge(
        { clientSecret: "from-flag" },
        { HITSTREAM_CLIENT_SECRET: "from-env" },
        {}
      )
      assert.strictEqual(merged.clientSecret, "from-env")
      const error = yield* Effect.flip(Sources.checkConfigFile("/etc/h.yaml", { accessToken: "x" }))
      assert.strictEqual(error.field, "accessToken")
      assert.include(error.message, "HITSTREAM_ACCESS_TOKEN")
      assert.include(error.message, "--access-token-file")
      assert.notInclude(error.message, '"x"')
    })
  )

  it("a secret file others can read is warned about, as ssh does", () => {
    assert.isUndefined(Sources.secretFileWarning("client-secret-file", "/s", 0o100600))
    assert.isUndefined(Sources.secretFileWarning("client-secret-file", "/s", 0o400))
    assert.include(Sources.secretFileWarning("client-secret-file", "/s", 0o640)!, "its group (mode 0640)")
    assert.include(Sources.secretFileWarning("access-token-file", "/s", 0o604)!, "by others (mode 0604)")
    assert.include(Sources.secretFileWarning("access-token-file", "/s", 0o644)!, "chmod 600 /s")
  })

  it("file modes: directories get search where read is; sizes in units of 1024", () => {
    assert.strictEqual(Settings.directoryMode(0o600), 0o700)
    assert.strictEqual(Settings.directoryMode(0o640), 0o750)
    assert.strictEqual(Settings.directoryMode(0o644), 0o755)
    assert.strictEqual(Settings.parseSize("1MB"), 1024 ** 2)
    assert.strictEqual(Settings.parseSize("512kb"), 512 * 1024)
    assert.strictEqual(Settings.parseSize("2048"), 2048)
    assert.isUndefined(Settings.parseSize("huge"))
  })

  it.effect("the client's messages name the flag and the variable", () =>
    Effect.gen(function* () {
      const program = yield* Settings.programSettings({})
      const missing = yield* Effect.flip(
        Settings.clientSettings({ url: "https://x.test/api/1/stream/a" }, program)
      )
      assert.match(missing.message, /^--client-id \(or HITSTREAM_CLIENT_ID\) is required/)
      const tooLong = yield* Effect.flip(Settings.programSettings({ maxRecordSize: "100" }))
      assert.match(tooLong.message, /^--max-record-size \(or HITSTREAM_MAX_RECORD_SIZE\) is "100"/)
      const limited = yield* Settings.programSettings({ maxRecordSize: "2MB" })
      const client = yield* Settings.clientSettings(
        { url: "https://x.test/api/1/stream/a", clientId: "c", accessToken: "t" },
        limited
      )
      assert.strictEqual(client.maxRecordBytes, 2 * 1024 ** 2, "--max-record-size reaches the client")
    })
  )
})
