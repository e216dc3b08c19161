// Shared generators for the core properties: realistic records (ids above 2^53, non-ASCII text,
// soft hyphens as in the vendor's example) and the junk that surrounds them on the wire.
import { Arbitrary, Schema } from "effect"

const u32 = Arbitrary.schema(Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 0xffffffff })))

/** One of `xs`, each as likely (list one twice to weight it). */
export const oneOf = <A>(xs: ReadonlyArray<A>): Arbitrary.Arbitrary<A> =>
  Arbitrary.map(
    Arbitrary.schema(Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: xs.length - 1 }))),
    (i) => xs[i]
  )

/** An unsigned 64-bit id; the high half is often large so the value is above 2^53. */
export const id64 = Arbitrary.map(Arbitrary.all([u32, u32]), ([hi, lo]) => (BigInt(hi) << 32n) | BigInt(lo))

const alphabet = ["a", "Z", "0", " ", "é", "ß", "日本", "😀", "\u00AD", '"', "\\", "\r\n", "\t", "ü", "/"]

/** Text that is not ASCII-clean, with characters JSON must escape. */
export const text = Arbitrary.map(
  Arbitrary.array(
    Arbitrary.schema(Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: alphabet.length - 1 }))),
    {
      maxLength: 12
    }
  ),
  (indexes) => indexes.map((i) => alphabet[i]).join("")
)

export interface GeneratedHit {
  readonly hitIdHigh: bigint
  readonly hitIdLow: bigint
  readonly pageName: string
  readonly timeGMT: number
}

export const hit: Arbitrary.Arbitrary<GeneratedHit> = Arbitrary.map(
  Arbitrary.all([id64, id64, text, u32]),
  ([hitIdHigh, hitIdLow, pageName, timeGMT]) => ({ hitIdHigh, hitIdLow, pageName, timeGMT })
)

/** A record as the vendor writes it: ids as bare numbers, nested objects, unknown fields. */
export const recordText = (h: GeneratedHit): string =>
  `{"hitIdHigh": ${h.hitIdHigh},"hitIdLow":${h.hitIdLow},"pageName":${JSON.stringify(h.pageName)},` +
  `"timeGMT":${h.timeGMT},"evars":{"evars":{"evar1":${JSON.stringify(h.pageName)}}},` +
  `"events":{"event1":[{"count":1,"exponent":0,"unique":""}]},"site\u00ADhier":"x","visIdHigh":${h.hitIdLow}}`

export type Item =
  | { readonly _tag: "Hit"; readonly hit: GeneratedHit }
  | { readonly _tag: "Empty" }
  | { readonly _tag: "Garbage"; readonly text: string }

const garbage = Arbitrary.map(
  Arbitrary.all([text, Arbitrary.schema(Schema.Boolean)]),
  // Never a valid hit: either not JSON at all, or JSON that is not an object.
  ([t, asJson]) => (asJson ? JSON.stringify(t) : `{garbage ${t.replace(/[\r\n]/g, "")}`)
)

export const item: Arbitrary.Arbitrary<Item> = Arbitrary.flatMap(
  Arbitrary.schema(Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 9 }))),
  (kind): Arbitrary.Arbitrary<Item> =>
    kind < 7
      ? Arbitrary.map(hit, (h) => ({ _tag: "Hit" as const, hit: h }))
      : kind < 8
        ? Arbitrary.Constant({ _tag: "Empty" as const })
        : Arbitrary.map(garbage, (t) => ({ _tag: "Garbage" as const, text: t }))
)

export const items = Arbitrary.array(item, { maxLength: 40 })

/** Cut positions as fractions, so one generated value fits any body length. */
export const cuts = Arbitrary.array(
  Arbitrary.schema(Schema.Number.check(Schema.isBetween({ minimum: 0, maximum: 1 }))),
  { maxLength: 30 }
)

/** Serialises items with CRLF (sometimes a bare LF), as one body. */
export const serialise = (list: ReadonlyArray<Item>, bareLf: boolean): string =>
  list
    .map((i) => (i._tag === "Hit" ? recordText(i.hit) : i._tag === "Empty" ? "" : i.text))
    .map((line, n) => line + (bareLf && n % 3 === 1 ? "\n" : "\r\n"))
    .join("")

/** Cuts bytes at the given fractional positions, any byte included. */
export const cut = (bytes: Uint8Array, fractions: ReadonlyArray<number>): Array<Uint8Array> => {
  const points = [...new Set(fractions.map((f) => Math.floor(f * bytes.length)))].sort((a, b) => a - b)
  const chunks: Array<Uint8Array> = []
  let start = 0
  for (const p of points) {
    if (p > start) chunks.push(bytes.subarray(start, p))
    start = Math.max(start, p)
  }
  if (start < bytes.length) chunks.push(bytes.subarray(start))
  return chunks
}

const units = ["a", "é", "日", "😀", " ", '\\"']

/** A record of about `size` bytes of mixed-width characters (any byte length around a limit). */
export const sizedRecord = (size: number, unit: number): string => {
  const body = units[unit % units.length]
  let text = `{"p":"`
  while (new TextEncoder().encode(text).length + body.length + 2 <= size) text += body
  while (new TextEncoder().encode(text).length + 2 < size) text += "x"
  return text + `"}`
}

/** Record sizes around a limit: `[limit, sizes as offsets from it, unit kinds]`. */
export const aroundLimit = Arbitrary.all([
  Arbitrary.schema(Schema.Int.check(Schema.isBetween({ minimum: 16, maximum: 600 }))),
  Arbitrary.array(
    Arbitrary.all([
      Arbitrary.schema(Schema.Int.check(Schema.isBetween({ minimum: -12, maximum: 12 }))),
      Arbitrary.schema(Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 50 })))
    ]),
    { maxLength: 25 }
  )
])
