/**
 * Deterministic, realistic Live Stream records.
 *
 * Hit `n` of a seed is a pure function of (seed, n): the simulator, its tests, the client's
 * tests and the benchmarks can all regenerate the ground truth without storing it. Records are
 * shaped like the vendor's published example (nested events, evars, products, mvvars,
 * hierarchies; soft hyphens in keys and values; non-ASCII text) at about 2 KB each, and carry
 * 64-bit ids above 2^53 written as bare JSON numbers, which is what breaks naive clients.
 *
 * A record is one template rather than `JSON.stringify` of an object, rendered as a string
 * (`generate`) or straight into a batch buffer (`encodeInto`, building no string): the simulator
 * must push well over 50,000 hits/s on this machine's two cores.
 *
 * @since 0.1.0
 */
import * as ByteWriter from "./ByteWriter.ts"

/**
 * One generated hit: its record text and the ids a test needs to check it.
 *
 * @since 0.1.0
 */
export interface GeneratedHit {
  readonly index: number
  readonly visitor: number
  readonly hitIdHigh: string
  readonly hitIdLow: string
  readonly text: string
}

// A small integer hash (a variant of lowbias32): fast, well mixed, no state.
const mix = (x: number): number => {
  x ^= x >>> 16
  x = Math.imul(x, 0x21f0aaad)
  x ^= x >>> 15
  x = Math.imul(x, 0x735a2d97)
  x ^= x >>> 15
  return x >>> 0
}

const hash = (seed: number, n: number, k: number): number => mix(mix(seed ^ Math.imul(k + 1, 0x9e3779b9)) ^ n)

/**
 * `hi * 2^32 + lo` (two unsigned 32-bit halves) in decimal, without BigInt (which took a third of
 * the generator's time): 2^32 is 4294 * 10^6 + 967296, so the value is a * 10^6 + b with a and b
 * exact doubles.
 *
 * @since 0.1.0
 */
export const decimal64 = (hi: number, lo: number): string => {
  let a = hi * 4294
  let b = hi * 967_296 + lo
  const carry = Math.floor(b / 1_000_000)
  a += carry
  b -= carry * 1_000_000
  if (a === 0) return String(b)
  const low = String(b)
  return String(a) + "000000".slice(low.length) + low
}

const pick = <A>(list: ReadonlyArray<A>, h: number): A => list[h % list.length]

const cities = ["paris", "zürich", "são paulo", "東京", "kraków", "reykjavík", "new york", "málaga"]
const countries = ["fra", "che", "bra", "jpn", "pol", "isl", "usa", "esp"]
const browsers = ["Google Chrome 131.0", "Mozilla Firefox 133.0", "Apple Safari 18.1", "Microsoft Edge 131.0"]
const pages = [
  "home page",
  "clothing:mens:shoes",
  "checkout:cart",
  "search results",
  "account:sign-in",
  "blog:été"
]
const products = ["Mens Black Running Shoes", "Veste d’été", "Laufschuhe für Damen", "Zapatillas 🏃 trail"]

/**
 * How many distinct visitors hits are spread over. `maxConnections` partitions by visitor.
 *
 * @since 0.1.0
 */
export const defaultVisitors = 997

/**
 * The visitor of hit `n`: what partitioning across connections groups by.
 *
 * @since 0.1.0
 */
export const visitorOf = (seed: number, n: number, visitors: number = defaultVisitors): number =>
  hash(seed, n, 1) % visitors

interface VisitorParts {
  readonly head: string
  readonly geo: string
  readonly ip: string
  readonly tail: string
}

// What depends only on the visitor is built once per visitor: it is most of a record, and
// rebuilding it (with two 64-bit ids to print) for every hit was half the generator's time.
const visitorCache = new Map<number, Map<number, VisitorParts>>()

const flat = (s: string) => Buffer.from(s, "utf8").toString("utf8")

const visitorParts = (seed: number, visitor: number): VisitorParts => {
  let bySeed = visitorCache.get(seed)
  if (bySeed === undefined) visitorCache.set(seed, (bySeed = new Map()))
  let parts = bySeed.get(visitor)
  if (parts === undefined) {
    const v = mix(seed ^ (visitor + 1))
    const place = v % cities.length
    parts = {
      head:
        `{"bot":"<Not a bot>","browser":"${pick(browsers, v)}","browserHeight":${700 + (v % 600)},"browserType":"Google",` +
        `"browserWidth":${900 + (v % 1000)},"carrier":"AT&T","connectionType":"LAN/WiFi","currency":"USD",` +
        `"customVisId":"${visitor}","domain":"example.com",`,
      geo: `"geoCity":"${cities[place]}","geoCountry":"${countries[place]}","geoDMA":0,"geoRegion":"j","geoZip":"${10000 + (v % 89999)}",`,
      ip:
        `"ip":"91.${v % 256}.${(v >>> 8) % 256}.${(v >>> 16) % 256}",` +
        `"javaEnabled":false,"language":"English","languageAbbrev":"en-\u00ADUS","monitorColorDepth":"16 million colors",` +
        `"monitorHeight":1080,"monitorWidth":1920,` +
        `"mvvars":{"1":{"m":{"values":["event_category:summer sale","event_type:click","source_platform:iOS"],"delim":44}}},`,
      tail:
        `"topLevelDomain":".com",` +
        `"tnt":[{"campaignId":"13234","recipeId":"23","trafficType":"0","actionId":"","actionName":""}],` +
        `"tntAction":[{"campaignId":"13234","recipeId":"23","trafficType":"0","actionId":"1","actionName":"Experience Visit"}],` +
        `"transactionId":"","truncated":false,` +
        `"userAgent":"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",` +
        `"usesPersistentCookie":1,"visIdHigh":${decimal64((v | 0x80000000) >>> 0, visitor)},"visIdLow":${decimal64(mix(v), mix(v + 1))},"visIdType":3}`
    }
    // Stored flat (a concatenation is a rope until something flattens it, at every use).
    parts = { head: flat(parts.head), geo: flat(parts.geo), ip: flat(parts.ip), tail: flat(parts.tail) }
    bySeed.set(visitor, parts)
  }
  return parts
}

// --- the record: one template, rendered as a string (`generate`) or as bytes (`encodeInto`) ----

// What fills a hole of the template. Numbers rather than an enum: the byte renderer switches on
// them once per hole, ~20 times per hit.
const Head = 0
const Geo = 1
const Ip = 2
const Tail = 3
const Campaign = 4
const City = 5
const EventNumber = 6
const Units = 7
const Page = 8
const HitIdHigh = 9
const HitIdLow = 10
const PageNumber = 11
const Product = 12
const Revenue = 13
const Visitor = 14
const Time = 15
const Referrer = 16

interface Template {
  readonly text: ReadonlyArray<string>
  readonly bytes: ReadonlyArray<Buffer>
  readonly holes: ReadonlyArray<number>
}

const template = (strings: TemplateStringsArray, ...holes: Array<number>): Template => ({
  text: [...strings],
  bytes: strings.map((s) => Buffer.from(s, "utf8")),
  holes
})

// A record, in the vendor's key order: the visitor's fixed parts (cached per visitor) around the
// fields that change from hit to hit (all drawn from one hash of the hit, `h`).
const record = template`${Head}"evars":{"evars":{"campaign":"DFA:172612:${Campaign}:182361","evar1":"Summer Shoe Promo ${City}"}},\
"events":{"event1":[{"count":1,"exponent":0,"unique":""}],"event${EventNumber}":[{"count":${Units},"exponent":0,"unique":""}]},\
"exclude":{"id":"0","value":"no","description":"include"},${Geo}\
"hierarchies":{"site\u00ADhier":{"delim":58,"values":"${Page}"}},\
"hitIdHigh":${HitIdHigh},"hitIdLow":${HitIdLow},"hitSource":1,${Ip}\
"operatingSystem":"Macintosh","pageName":"Page #${PageNumber} ${Page}","pageURL":"https://example.com/page${PageNumber}.html",\
"products":[{"category":"Clothing","evars":{},"events":{"event61":[{"count":${Units},"exponent":0,"unique":""}]},\
"name":"${Product}","revenue":${Revenue},"units":${Units}}],\
"props":{"props":{"prop1":"${Page}","prop2":"v${Visitor}"}},\
"receivedTimeGMT":${Time},"referrer":"https://example.com/page${Referrer}.html","reportSuite":"examplecomprod",\
"searchEngine":"Google","service":"ss","timeGMT":${Time},${Tail}`

// The numeric holes' values, from the hit's hash.
const numeric = (hole: number, h: number, visitor: number, timeGMT: number): number => {
  switch (hole) {
    case Campaign:
      return h % 100_000
    case EventNumber:
      return (h % 90) + 10
    case Units:
      return (h >>> 8) % 20
    case PageNumber:
      return h % 10_000
    case Revenue:
      return (h >>> 12) % 5000
    case Visitor:
      return visitor
    case Time:
      return timeGMT
    default:
      return h % 997
  }
}

// The high half always has its top bit set: every hitIdHigh is above 2^63, far past 2^53.
const idHigh = (seed: number, n: number) => (hash(seed, n, 2) | 0x80000000) >>> 0

/**
 * The ids of hit `n`, without building its text.
 *
 * @since 0.1.0
 */
export const idsOf = (
  seed: number,
  n: number
): { readonly hitIdHigh: string; readonly hitIdLow: string } => ({
  hitIdHigh: decimal64(idHigh(seed, n), n >>> 0),
  hitIdLow: decimal64(hash(seed, n, 3), hash(seed, n, 4))
})

/**
 * Hit `n` of `seed`, stamped with `timeGMT` (Unix seconds).
 *
 * @since 0.1.0
 */
export const generate = (
  seed: number,
  n: number,
  timeGMT: number,
  visitors: number = defaultVisitors
): GeneratedHit => {
  const visitor = visitorOf(seed, n, visitors)
  const { hitIdHigh, hitIdLow } = idsOf(seed, n)
  const parts = visitorParts(seed, visitor)
  const h = hash(seed, n, 5)
  const { holes, text: strings } = record
  let text = strings[0]
  for (let i = 0; i < holes.length; i++) {
    const hole = holes[i]
    text +=
      hole === Head
        ? parts.head
        : hole === Geo
          ? parts.geo
          : hole === Ip
            ? parts.ip
            : hole === Tail
              ? parts.tail
              : hole === City
                ? pick(cities, h)
                : hole === Page
                  ? pick(pages, h)
                  : hole === Product
                    ? pick(products, h >>> 4)
                    : hole === HitIdHigh
                      ? hitIdHigh
                      : hole === HitIdLow
                        ? hitIdLow
                        : String(numeric(hole, h, visitor, timeGMT))
    text += strings[i + 1]
  }
  return { index: n, visitor, hitIdHigh, hitIdLow, text }
}

/**
 * The most bytes one record takes: what `encodeInto` needs free in its target.
 *
 * @since 0.1.0
 */
export const maxRecordBytes = 4096

const utf8 = (list: ReadonlyArray<string>) => list.map((s) => Buffer.from(s, "utf8"))
const cityBytes = utf8(cities)
const pageBytes = utf8(pages)
const productBytes = utf8(products)

/**
 * Writes hit `n`'s record as UTF-8 into `target` at `offset` and returns the offset after it:
 * the same bytes as `generate(...).text`, rendered from the same template without building a
 * string (the template's text and the visitor's fixed parts are copied from bytes encoded once,
 * numbers written as digits): encoding every record's text was the simulator's main cost.
 *
 * @since 0.1.0
 */
export const encodeInto = (
  seed: number,
  n: number,
  timeGMT: number,
  target: Buffer,
  offset: number,
  visitors: number = defaultVisitors
): number => {
  const visitor = visitorOf(seed, n, visitors)
  const parts = visitorBytes(seed, visitor)
  const h = hash(seed, n, 5)
  const { holes, bytes } = record
  let at = ByteWriter.copy(target, bytes[0], offset)
  for (let i = 0; i < holes.length; i++) {
    const hole = holes[i]
    switch (hole) {
      case Head:
        at = ByteWriter.copy(target, parts.head, at)
        break
      case Geo:
        at = ByteWriter.copy(target, parts.geo, at)
        break
      case Ip:
        at = ByteWriter.copy(target, parts.ip, at)
        break
      case Tail:
        at = ByteWriter.copy(target, parts.tail, at)
        break
      case City:
        at = ByteWriter.copy(target, cityBytes[h % cityBytes.length], at)
        break
      case Page:
        at = ByteWriter.copy(target, pageBytes[h % pageBytes.length], at)
        break
      case Product:
        at = ByteWriter.copy(target, productBytes[(h >>> 4) % productBytes.length], at)
        break
      case HitIdHigh:
        at = ByteWriter.digits64(target, at, idHigh(seed, n), n >>> 0)
        break
      case HitIdLow:
        at = ByteWriter.digits64(target, at, hash(seed, n, 3), hash(seed, n, 4))
        break
      default:
        at = ByteWriter.digits(target, at, numeric(hole, h, visitor, timeGMT), 1)
    }
    at = ByteWriter.copy(target, bytes[i + 1], at)
  }
  return at
}

interface VisitorBytes {
  readonly head: Buffer
  readonly geo: Buffer
  readonly ip: Buffer
  readonly tail: Buffer
}

// Per seed, indexed by visitor: two hash-map lookups per hit showed in the profile.
const bytesCache = new Map<number, Array<VisitorBytes | undefined>>()
let lastSeed: number | undefined
let lastTable: Array<VisitorBytes | undefined> = []

const visitorBytes = (seed: number, visitor: number): VisitorBytes => {
  if (seed !== lastSeed) {
    let table = bytesCache.get(seed)
    if (table === undefined) bytesCache.set(seed, (table = []))
    lastSeed = seed
    lastTable = table
  }
  let bytes = lastTable[visitor]
  if (bytes === undefined) {
    const parts = visitorParts(seed, visitor)
    bytes = {
      head: Buffer.from(parts.head, "utf8"),
      geo: Buffer.from(parts.geo, "utf8"),
      ip: Buffer.from(parts.ip, "utf8"),
      tail: Buffer.from(parts.tail, "utf8")
    }
    lastTable[visitor] = bytes
  }
  return bytes
}
