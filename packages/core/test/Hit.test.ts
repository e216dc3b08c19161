import { assert, describe, it } from "@effect/vitest"
import { Arbitrary, Schema } from "effect"
import { readFileSync } from "node:fs"
import { Hit } from "../src/index.ts"
import * as A from "./arbitraries.ts"

const example = readFileSync(new URL("./fixtures/example-hit.json", import.meta.url), "utf8")

describe("Hit", () => {
  it("decodes the vendor's example record with every digit of its ids", () => {
    const hit = Hit.parse(example)
    assert.isFalse(Hit.isMalformed(hit))
    const h = hit as Hit.Hit
    assert.strictEqual(h.hitIdHigh, "2948027281753079808")
    assert.strictEqual(h.hitIdLow, "4948646782672799561")
    assert.strictEqual(h.visIdHigh, "1944017885723175213")
    assert.strictEqual(h.visIdLow, "2512895455560210216")
    assert.strictEqual(h.reportSuite, "examplecomprod")
    assert.strictEqual(h.timeGMT, 1372782179)
    // Unknown fields are kept, soft hyphens and all.
    assert.strictEqual(h["browser"], "Google Chrome 32.0")
    assert.deepStrictEqual(Object.keys(h["hierarchies"] as object), ["site-\u00ADhier"])
    assert.strictEqual(Hit.recordText(h), example)
  })

  it("keeps the digits a plain JSON.parse rounds", () => {
    const text = '{"hitIdHigh":2961299500374616223,"hitIdLow" : 18446744073709551615}'
    assert.strictEqual(JSON.parse(text).hitIdHigh, 2961299500374616000)
    const hit = Hit.parse(text) as Hit.Hit
    assert.strictEqual(hit.hitIdHigh, "2961299500374616223")
    assert.strictEqual(hit.hitIdLow, "18446744073709551615")
  })

  it("does not touch an id-like text inside a string value", () => {
    const text = JSON.stringify({ pageName: '"hitIdHigh":12345678901234567890', hitIdLow: "7" })
    const hit = Hit.parse(text) as Hit.Hit
    assert.strictEqual(hit.pageName, '"hitIdHigh":12345678901234567890')
  })

  it("reports invalid JSON and schema mismatches with a bounded preview", () => {
    const bad = Hit.parse('{"pageName": ' + "x".repeat(500))
    assert.isTrue(Hit.isMalformed(bad))
    const m = bad as Hit.MalformedRecord
    assert.strictEqual(m.reason, "InvalidJson")
    assert.isAtMost(m.preview.length, 121)
    const mismatch = Hit.parse('{"timeGMT":"yesterday"}') as Hit.MalformedRecord
    assert.strictEqual(mismatch.reason, "SchemaMismatch")
    assert.include(mismatch.message, "timeGMT")
    assert.strictEqual((Hit.parse("[1,2]") as Hit.MalformedRecord).reason, "SchemaMismatch")
    assert.strictEqual((Hit.parse('{"hitIdHigh":-5}') as Hit.MalformedRecord).reason, "SchemaMismatch")
  })

  it("re-serialises with ids as exact decimal strings", () => {
    const hit = Hit.parse('{"hitIdHigh":2961299500374616223,"x":1}') as Hit.Hit
    assert.strictEqual(Hit.toJson(hit), '{"hitIdHigh":"2961299500374616223","x":1}')
  })
})

// `parse` is defined as `JSON.parse(quoteIds(text))` then the schema check; its fast path parses
// the text as is and puts the ids' digits back. Records built from pieces that trip that path: id
// fields nested, repeated, negative, with exponents, leading zeros or spaces, and as strings.
const idValues = [
  "18446744073709551615",
  "2961299500374616223",
  "0",
  "-0",
  "-5",
  "7",
  "1e3",
  "1e0",
  "1.0",
  "1.5",
  "0123",
  '"42"',
  " 9007199254740993 "
]
// Names that look like id fields to a search around `Id`: a letter more or less, another case, a
// quote escaped inside the name, and id fields spelled with an escape (the same key to JSON.parse,
// not to the search).
const lookalikes = [
  "xhitIdLow",
  "xmcVisIdLow",
  "avisIdHigh",
  "mcVisId\\u004cow",
  "visId\\u0048igh",
  "hitIdLowx",
  "mcvisIdHigh",
  "McVisIdHigh",
  '\\"visIdLow',
  "IdHigh",
  "Id"
]
const colons = [":", ":", " : ", "\n:\t", ":\r\n "]
const escaped = (field: string) =>
  field.replace(/Id(.)/, (_, c: string) => `Id\\u00${c.charCodeAt(0).toString(16)}`)
const member = Arbitrary.map(
  Arbitrary.all([
    A.oneOf([...Hit.idFields, ...Hit.idFields, ...lookalikes, "pageName", "timeGMT"]),
    A.oneOf(colons),
    A.oneOf(idValues),
    A.oneOf([0, 0, 0, 1, 2, 3])
  ]),
  ([field, colon, value, form]) =>
    form === 1
      ? `"x":{"${field}"${colon}${value}}`
      : form === 2
        ? // The field under an escaped name, and a longer name ending in it with the same value.
          `"${escaped(field)}":${value},"x${field}"${colon}${value}`
        : form === 3
          ? // The field twice, the second time under an escaped name: JSON.parse keeps that one.
            `"${field}"${colon}${value},"${escaped(field)}":${value}`
          : `"${field}"${colon}${value}`
)
const record = Arbitrary.map(Arbitrary.array(member, { maxLength: 8 }), (members) => `{${members.join(",")}}`)

/** What `parse` must give for `text`: quoting every id then `JSON.parse`, then the schema. */
const agreesWithDefinition = (text: string) => {
  let reference: unknown
  let invalid = false
  try {
    reference = JSON.parse(Hit.quoteIds(text))
  } catch {
    invalid = true
  }
  const parsed = Hit.parse(text)
  if (invalid) {
    assert.strictEqual(Hit.isMalformed(parsed) && parsed.reason, "InvalidJson", text)
  } else if (Schema.is(Hit.HitFields)(reference)) {
    assert.isFalse(Hit.isMalformed(parsed), text)
    const fields: Record<PropertyKey, unknown> = { ...(parsed as Hit.Hit) }
    delete fields[Hit.RecordText]
    assert.deepStrictEqual(fields, reference as object, text)
    assert.strictEqual(Hit.recordText(parsed as Hit.Hit), text)
  } else {
    assert.strictEqual(Hit.isMalformed(parsed) && parsed.reason, "SchemaMismatch", text)
  }
}

describe("Hit.parse against its definition", () => {
  it.prop(
    "gives what quoting every id then JSON.parse gives, hit or malformed alike",
    [record],
    ([text]) => agreesWithDefinition(text),
    { arbitrary: { runs: 3000 } }
  )

  it("where the fast path cannot be sure of an id: nested beside a top-level -0 or -5, or the key spelled twice", () => {
    for (const text of [
      '{"x":{"hitIdHigh":0},"hitIdHigh":-0}',
      '{"hitIdLow":-5,"x":{"hitIdLow":5}}',
      '{"visIdHigh":1,"visId\\u0048igh":1}',
      '{"x":{"mcVisIdLow":7},"mcVisId\\u004cow":7}',
      '{"hitIdHigh":18446744073709551615,"x":{"hitIdHigh":18446744073709551616}}'
    ])
      agreesWithDefinition(text)
  })
})

// The hot path's check of the typed fields, written out, against the schema it stands for: each
// typed field absent or holding a value that fits, nearly fits or does not.
const fieldValues = [
  '"18446744073709551615"',
  '"184467440737095516150"',
  '""',
  '"12a"',
  '"-1"',
  '"\u0661"',
  '"7\\n"',
  "7",
  "1.5",
  '"text"',
  "true",
  "null",
  "[]",
  "[{}]",
  '[{"a":1},{}]',
  "[[]]",
  "[{},null]",
  "{}",
  '{"a":[1]}'
]
const typedFields = Object.keys(Hit.HitFields.fields)
const fieldsRecord = Arbitrary.map(
  Arbitrary.array(Arbitrary.all([A.oneOf([...typedFields, "other"]), A.oneOf(fieldValues)]), {
    maxLength: 6
  }),
  (members) => `{${members.map(([field, value]) => `"${field}":${value}`).join(",")}}`
)

describe("Hit.isHitJson", () => {
  it.prop(
    "agrees with Schema.is(HitFields) on whatever JSON.parse returns",
    [Arbitrary.all([fieldsRecord, A.oneOf(fieldValues), A.oneOf([0, 0, 0, 1])])],
    ([[record, other, notObject]]) => {
      // Now and then not an object at all.
      const text = notObject === 1 ? other : record
      const value: unknown = JSON.parse(text)
      assert.strictEqual(Hit.isHitJson(value), Schema.is(Hit.HitFields)(value), text)
    },
    { arbitrary: { runs: 3000 } }
  )
})
