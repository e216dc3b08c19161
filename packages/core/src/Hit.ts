/**
 * One Live Stream record: a hit, as the vendor sends it.
 *
 * The vendor writes its 64-bit ids (`hitIdHigh`, `visIdLow`, ...) as bare JSON numbers above
 * 2^53, which a plain `JSON.parse` silently rounds: two hits then share an id and a dedup built
 * on it drops real data. `Hit.parse` quotes those fields in the record text before parsing, so
 * every id arrives as its exact decimal string (see `docs/benchmarks.md` for why a string and
 * this pre-pass, rather than a bigint reviver).
 *
 * The schema types what users query and keeps every other field: Adobe adds fields over time,
 * and a client that rejects them loses data. Validation runs in place (`SchemaParser.is`), so
 * the parsed object is not copied, and each hit keeps its original record text for sinks that
 * pass records through byte for byte.
 *
 * @since 0.1.0
 */
import { Data, Schema, SchemaParser } from "effect"
import { SchemaJITCompiler } from "effect/schema"

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

// The hot path checks the typed fields in place: the extra fields are `unknown` anyway, so
// walking them (as `Hit`'s rest record would) costs time and checks nothing. The JIT compiler
// measured 1.35x the interpreted check; it falls back to interpreting where `new Function` is
// blocked.
SchemaJITCompiler.enable(HitFields.ast)
const isHit = SchemaParser.is(HitFields)
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

// The same matches as `idPattern`, found twice as fast: with the quote as a lookbehind, the
// search starts at the field names' first letters rather than at every quote of the record.
const idExec = new RegExp(`(?<=")(${idFields.join("|")})"\\s*:\\s*(\\d+)`, "g")

/**
 * Puts back the digits `JSON.parse` rounded, in the object it parsed from `text` as is: no copy
 * of the record is made (quoting the ids first cost a record-sized string per hit, measured at
 * about a tenth of decoding). It applies only when each id the pattern finds is certainly the
 * top-level field `JSON.parse` read: one match per field, the same number, a plain integer.
 * Anything else (an id field inside a nested object, a repeated key, `1e5`) answers false, and
 * the caller takes the quoting path, whose result defines `parse`.
 */
const restoreIds = (text: string, value: unknown): boolean => {
  if (typeof value !== "object" || value === null) return false
  const record = value as Record<string, unknown>
  idExec.lastIndex = 0
  let match: RegExpExecArray | null
  while ((match = idExec.exec(text)) !== null) {
    const field = match[1]
    const digits = match[2]
    const next = text.charCodeAt(idExec.lastIndex)
    // `.`, `e`, `E`: not an integer; the quoting path makes such a record invalid JSON.
    if (next === 46 || next === 101 || next === 69) return false
    // A repeated key fails here: the first match already made the field a string.
    if (!Object.is(record[field], Number(digits))) return false
    record[field] = digits
  }
  return true
}

const check = (value: unknown, text: string): Hit | MalformedRecord => {
  if (isHit(value)) {
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
