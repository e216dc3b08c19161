/**
 * One Live Stream record: a hit, as the vendor sends it.
 *
 * The vendor writes its 64-bit ids (`hitIdHigh`, `visIdLow`, ...) as bare JSON numbers above
 * 2^53, which a plain `JSON.parse` silently rounds: two hits then share an id and a dedup built
 * on it drops real data. `Hit.parse` gives what quoting those fields in the record text before
 * parsing gives, so every id arrives as its exact decimal string; the usual record is parsed
 * once, its ids' digits put back from the text (see `docs/benchmarks.md` for why a string, and
 * why not a bigint reviver).
 *
 * The schema types what users query and keeps every other field: Adobe adds fields over time,
 * and a client that rejects them loses data. Validation runs in place (`isHitJson`, held to
 * `Schema.is(HitFields)`), so the parsed object is not copied, and each hit keeps its original
 * record text for sinks that pass records through byte for byte.
 *
 * @since 0.1.0
 */
import { Data, Schema } from "effect"

/**
 * An unsigned 64-bit id as its exact decimal string.
 *
 * @since 0.1.0
 */
export const HitId = Schema.String.check(Schema.isPattern(/^\d{1,20}$/)).annotate({
  identifier: "HitId",
  description: "an unsigned 64-bit integer as an exact decimal string"
})

/**
 * @since 0.1.0
 */
export type HitId = typeof HitId.Type

const Obj = Schema.Record(Schema.String, Schema.Unknown)

/**
 * The typed part of a record. Every field is optional: the vendor does not promise any of them,
 * and fields change over time.
 *
 * @since 0.1.0
 */
export const HitFields = Schema.Struct({
  hitIdHigh: Schema.optionalKey(HitId),
  hitIdLow: Schema.optionalKey(HitId),
  visIdHigh: Schema.optionalKey(HitId),
  visIdLow: Schema.optionalKey(HitId),
  mcVisIdHigh: Schema.optionalKey(HitId),
  mcVisIdLow: Schema.optionalKey(HitId),
  timeGMT: Schema.optionalKey(Schema.Number),
  receivedTimeGMT: Schema.optionalKey(Schema.Number),
  reportSuite: Schema.optionalKey(Schema.String),
  pageName: Schema.optionalKey(Schema.String),
  pageURL: Schema.optionalKey(Schema.String),
  events: Schema.optionalKey(Obj),
  evars: Schema.optionalKey(Obj),
  props: Schema.optionalKey(Obj),
  products: Schema.optionalKey(Schema.Array(Obj)),
  mvvars: Schema.optionalKey(Obj),
  hierarchies: Schema.optionalKey(Obj),
  truncated: Schema.optionalKey(Schema.Boolean)
})

/**
 * A Live Stream record: the typed fields plus every other field, kept as sent.
 *
 * @since 0.1.0
 */
export const Hit = Schema.StructWithRest(HitFields, [Obj]).annotate({ identifier: "Hit" })

/**
 * @since 0.1.0
 */
export type Hit = typeof Hit.Type

/**
 * Where a hit's original record text is kept. A symbol, so that `JSON.stringify(hit)` and
 * `Object.keys(hit)` see only the vendor's fields.
 *
 * @since 0.1.0
 */
export const RecordText: unique symbol = Symbol.for("@hitstream/core/Hit/RecordText")

/**
 * The record text the hit was parsed from (without its CRLF), byte for byte as received when
 * the record was valid UTF-8.
 *
 * @since 0.1.0
 */
export const recordText = (hit: Hit): string => (hit as any)[RecordText] ?? JSON.stringify(hit)

/**
 * The fields that carry unsigned 64-bit ids.
 *
 * @since 0.1.0
 */
export const idFields = [
  "hitIdHigh",
  "hitIdLow",
  "visIdHigh",
  "visIdLow",
  "mcVisIdHigh",
  "mcVisIdLow"
] as const

// Only a field name in quotes followed by a colon: inside a JSON string the quotes would be
// escaped, so a string value that merely contains `"hitIdHigh":1` never matches.
const idPattern = new RegExp(`"(${idFields.join("|")})"(\\s*):(\\s*)(\\d+)`, "g")

/**
 * The record text with every bare 64-bit id quoted, so that `JSON.parse` keeps all its digits.
 *
 * @since 0.1.0
 */
export const quoteIds = (text: string): string => text.replace(idPattern, '"$1"$2:$3"$4"')

// Only a record that fails the hot path's check (`isHitJson`) is decoded with the schema, to
// say why.
const issueOf = Schema.decodeUnknownResult(Hit)

/**
 * A record that is not a hit: not valid JSON, or JSON that fails the schema. It is counted and
 * logged by whoever reads the stream, never fatal: the records around it are still good.
 *
 * @since 0.1.0
 */
export class MalformedRecord extends Data.TaggedClass("MalformedRecord")<{
  /** `TooLong`: longer than the framing's `maxRecordBytes`, skipped unread (`length` in bytes). */
  readonly reason: "InvalidJson" | "SchemaMismatch" | "TooLong"
  readonly message: string
  /** The record's first characters, enough to find it in a capture, never the whole record. */
  readonly preview: string
  readonly length: number
}> {}

const previewLength = 120

const malformed = (reason: MalformedRecord["reason"], message: string, text: string) =>
  new MalformedRecord({
    reason,
    message,
    preview: text.length > previewLength ? text.slice(0, previewLength) + "…" : text,
    length: text.length
  })

const isDigit = (c: number) => c >= 48 && c <= 57
const isJsonSpace = (c: number) => c === 32 || c === 10 || c === 13 || c === 9

/**
 * Which of `idFields` is the quoted name around the `Id` found at `at` (its index), or -1. The
 * names are `hit`, `vis` or `mcVis`, then `Id`, then `High` or `Low`: looking around each `Id` (a
 * dozen per record) is cheaper than a pattern tried at every letter. The closing quote ends the
 * name at `at + 7` (`High"`, even indices) or `at + 6` (`Low"`, odd ones).
 */
const idFieldAt = (text: string, at: number): number => {
  let field: number
  const c1 = text.charCodeAt(at - 1)
  const c2 = text.charCodeAt(at - 2)
  const c3 = text.charCodeAt(at - 3)
  if (c1 === 116 && c2 === 105 && c3 === 104 && text.charCodeAt(at - 4) === 34)
    field = 0 // "hit
  else if (c1 === 115 && c2 === 105 && c3 === 118 && text.charCodeAt(at - 4) === 34)
    field = 2 // "vis
  else if (
    c1 === 115 &&
    c2 === 105 &&
    c3 === 86 &&
    text.charCodeAt(at - 4) === 99 &&
    text.charCodeAt(at - 5) === 109 &&
    text.charCodeAt(at - 6) === 34
  )
    field = 4 // "mcVis
  else return -1
  if (text.startsWith('High"', at + 2)) return field
  if (text.startsWith('Low"', at + 2)) return field + 1
  return -1
}

/**
 * Puts back the digits `JSON.parse` rounded, in the object it parsed from `text` as is: no copy
 * of the record is made (quoting the ids first cost a record-sized string per hit, measured at
 * about a tenth of decoding). It finds what `idPattern` finds: in a valid JSON text the quote
 * after a name always closes a string and a colon after it makes it a key, so only JSON's four
 * spaces can follow. It applies only when each id found is certainly the top-level field
 * `JSON.parse` read, a plain integer; anything else (an id field inside a nested object, a
 * repeated key, `1e5`) answers false, and the caller takes the quoting path, whose result defines
 * `parse`.
 *
 * "Certainly" without converting the digits (that cost a third of this function): in a text
 * without `\u` every key's letters are written as they read, so a top-level id field holding a
 * number `>= 0` (which JSON writes with a digit first) is found by the search; a field found once
 * that holds such a number at the top level was found there, and a second find fails. A text
 * with `\u` (a key could be spelled with escapes, `"hitId\u0048igh"`) takes the quoting path.
 */
const restoreIds = (text: string, value: unknown): boolean => {
  if (typeof value !== "object" || value === null) return false
  const record = value as Record<string, unknown>
  if (text.indexOf("\\u") !== -1) return false
  const length = text.length
  let at = text.indexOf("Id")
  while (at !== -1) {
    const field = idFieldAt(text, at)
    let i = at + 2
    if (field !== -1) {
      i = at + (field % 2 === 0 ? 7 : 6)
      while (i < length && isJsonSpace(text.charCodeAt(i))) i++
      if (text.charCodeAt(i) === 58) {
        i++
        while (i < length && isJsonSpace(text.charCodeAt(i))) i++
        const digits = i
        while (i < length && isDigit(text.charCodeAt(i))) i++
        if (i > digits) {
          const next = text.charCodeAt(i)
          // `.`, `e`, `E`: not an integer; the quoting path makes such a record invalid JSON.
          if (next === 46 || next === 101 || next === 69) return false
          const name = idFields[field]
          const parsed = record[name]
          // A repeated key fails here: the first match already made the field a string.
          if (typeof parsed !== "number" || !(parsed > 0 || Object.is(parsed, 0))) return false
          record[name] = text.slice(digits, i)
        }
      }
    }
    at = text.indexOf("Id", i)
  }
  return true
}

const isId = (u: unknown): boolean => {
  if (typeof u !== "string" || u.length === 0 || u.length > 20) return false
  for (let i = 0; i < u.length; i++) if (!isDigit(u.charCodeAt(i))) return false
  return true
}

const isObj = (u: unknown): boolean => typeof u === "object" && u !== null && !Array.isArray(u)

const isProducts = (u: unknown): boolean => {
  if (!Array.isArray(u)) return false
  for (let i = 0; i < u.length; i++) if (!isObj(u[i])) return false
  return true
}

/**
 * `HitFields`' check written out for what `JSON.parse` returns (plain objects, no `undefined`,
 * no symbols): the typed fields in place, the extra fields left alone (they are `unknown`, so
 * walking them, as `Hit`'s rest record would, checks nothing). It takes half the time of the
 * schema's JIT-compiled check (0.19 vs 0.37 µs on a hit in cache). A property test holds it to
 * `Schema.is(HitFields)`.
 *
 * @internal
 */
export const isHitJson = (u: unknown): u is Hit => {
  if (!isObj(u)) return false
  const o = u as Record<string, unknown>
  let v: unknown
  return (
    ((v = o.hitIdHigh) === undefined || isId(v)) &&
    ((v = o.hitIdLow) === undefined || isId(v)) &&
    ((v = o.visIdHigh) === undefined || isId(v)) &&
    ((v = o.visIdLow) === undefined || isId(v)) &&
    ((v = o.mcVisIdHigh) === undefined || isId(v)) &&
    ((v = o.mcVisIdLow) === undefined || isId(v)) &&
    ((v = o.timeGMT) === undefined || typeof v === "number") &&
    ((v = o.receivedTimeGMT) === undefined || typeof v === "number") &&
    ((v = o.reportSuite) === undefined || typeof v === "string") &&
    ((v = o.pageName) === undefined || typeof v === "string") &&
    ((v = o.pageURL) === undefined || typeof v === "string") &&
    ((v = o.events) === undefined || isObj(v)) &&
    ((v = o.evars) === undefined || isObj(v)) &&
    ((v = o.props) === undefined || isObj(v)) &&
    ((v = o.products) === undefined || isProducts(v)) &&
    ((v = o.mvvars) === undefined || isObj(v)) &&
    ((v = o.hierarchies) === undefined || isObj(v)) &&
    ((v = o.truncated) === undefined || typeof v === "boolean")
  )
}

const check = (value: unknown, text: string): Hit | MalformedRecord => {
  if (isHitJson(value)) {
    ;(value as any)[RecordText] = text
    return value
  }
  const result = issueOf(value)
  return malformed("SchemaMismatch", result._tag === "Failure" ? String(result.failure) : "not a hit", text)
}

const parseQuoted = (text: string): Hit | MalformedRecord => {
  let value: unknown
  try {
    value = JSON.parse(quoteIds(text))
  } catch (e) {
    return malformed("InvalidJson", (e as Error).message, text)
  }
  return check(value, text)
}

/**
 * Parses one record's text into a hit, or says why it is not one. Pure and synchronous: it runs
 * once per record on the hot path, so it allocates no Effect.
 *
 * Defined as `JSON.parse(quoteIds(text))` then the schema check; the usual record takes a path
 * that parses the text as is and restores the ids' digits, with the same result.
 *
 * @since 0.1.0
 */
export const parse = (text: string): Hit | MalformedRecord => {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    // Quoting can make a record valid (`"hitIdLow":0123`): the quoting path decides.
    return parseQuoted(text)
  }
  return restoreIds(text, value) ? check(value, text) : parseQuoted(text)
}

/**
 * @since 0.1.0
 */
export const isMalformed = (u: unknown): u is MalformedRecord => u instanceof MalformedRecord

/**
 * The hit re-serialised as JSON, ids as exact decimal strings.
 *
 * @since 0.1.0
 */
export const toJson = (hit: Hit): string => JSON.stringify(hit)
