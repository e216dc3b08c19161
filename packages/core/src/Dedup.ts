/**
 * Drops hits already seen, by (`hitIdHigh`, `hitIdLow`), within a bounded window.
 *
 * Duplicates are normal around reconnects (the server backfills from where it thinks the client
 * stopped) and when clients join. A window of the last `capacity` distinct ids is enough: a
 * backfill re-sends seconds or minutes of hits, not millions.
 *
 * Memory is fixed at creation and small: the ids live in a ring of 32-bit words
 * (16 bytes per hit), indexed by an open-addressing hash table of `Int32Array` slots at a load
 * factor of at most 1/2 (8 to 16 bytes per hit): 24 to 32 bytes per remembered hit, against
 * 100+ for a `Set` of strings. The oldest id is evicted first.
 *
 * @since 0.1.0
 */
import * as Hit from "./Hit.ts"

/**
 * The default window, in hits.
 *
 * @since 0.1.0
 */
export const defaultCapacity = 1_000_000

/**
 * A bounded, oldest-first-evicting set of hit ids. Mutable and synchronous: it is checked once
 * per hit on the hot path, and one instance is shared by every connection slot.
 *
 * @since 0.1.0
 */
export class Dedup {
  readonly capacity: number
  // The ring: four 32-bit words per id (high's upper and lower half, then low's), so that
  // comparing and hashing need no BigInt (reading a `BigUint64Array` allocates one per read).
  private readonly ids: Uint32Array
  // Slot -> ring index + 1; 0 is empty.
  private readonly table: Int32Array
  private readonly mask: number
  private next = 0
  private count = 0
  // The id being looked up, in the ring's layout.
  private readonly key = new Uint32Array(4)

  constructor(capacity: number = defaultCapacity) {
    if (!Number.isInteger(capacity) || capacity < 1 || capacity > 100_000_000) {
      throw new RangeError(`Dedup capacity must be an integer from 1 to 100000000, got ${capacity}`)
    }
    this.capacity = capacity
    this.ids = new Uint32Array(capacity * 4)
    let slots = 2
    while (slots < capacity * 2) slots *= 2
    this.table = new Int32Array(slots)
    this.mask = slots - 1
  }

  /** How many ids are remembered now (at most `capacity`). */
  get size(): number {
    return this.count
  }

  /** Bytes held by the structure's arrays. */
  get byteLength(): number {
    return this.ids.byteLength + this.table.byteLength
  }

  private slotOf(highLower: number, lowLower: number): number {
    const h = lowLower ^ Math.imul(highLower, 0x9e3779b1)
    return Math.imul(h ^ (h >>> 15), 0x85ebca6b) & this.mask
  }

  /**
   * The slot holding the id in `words[at..at + 3]` (the lookup key, or an entry of the ring), or
   * `-1 - slot` for the free slot where it would go.
   */
  private find(words: Uint32Array, at: number): number {
    const ids = this.ids
    let slot = this.slotOf(words[at + 1], words[at + 3])
    for (;;) {
      const entry = this.table[slot]
      if (entry === 0) return -1 - slot
      const e = (entry - 1) * 4
      if (
        ids[e + 3] === words[at + 3] &&
        ids[e + 1] === words[at + 1] &&
        ids[e + 2] === words[at + 2] &&
        ids[e] === words[at]
      ) {
        return slot
      }
      slot = (slot + 1) & this.mask
    }
  }

  // Backward-shift deletion keeps every remaining entry reachable from its home slot without
  // tombstones, so lookups stay short however long the window has been sliding.
  private removeSlot(slot: number): void {
    const mask = this.mask
    let hole = slot
    let i = (slot + 1) & mask
    for (;;) {
      const entry = this.table[i]
      if (entry === 0) break
      const at = (entry - 1) * 4
      const home = this.slotOf(this.ids[at + 1], this.ids[at + 3])
      if (((i - home) & mask) >= ((i - hole) & mask)) {
        this.table[hole] = entry
        hole = i
      }
      i = (i + 1) & mask
    }
    this.table[hole] = 0
  }

  /** Records `key` and says whether it is new. */
  private admitKey(): boolean {
    const key = this.key
    const found = this.find(key, 0)
    if (found >= 0) return false
    let free = -1 - found
    const index = this.next
    const at = index * 4
    if (this.count === this.capacity) {
      this.removeSlot(this.find(this.ids, at))
      // The deletion may have shifted entries into the free slot found above.
      free = -1 - this.find(key, 0)
    } else {
      this.count++
    }
    this.ids.set(key, at)
    this.table[free] = index + 1
    this.next = index + 1 === this.capacity ? 0 : index + 1
    return true
  }

  private setKey(high: bigint, low: bigint): void {
    const key = this.key
    key[0] = Number(BigInt.asUintN(32, high >> 32n))
    key[1] = Number(BigInt.asUintN(32, high))
    key[2] = Number(BigInt.asUintN(32, low >> 32n))
    key[3] = Number(BigInt.asUintN(32, low))
  }

  /**
   * Records the id and says whether it is new. `false` means a repeat within the window: drop
   * the hit. Ids are taken modulo 2^64.
   */
  admit(high: bigint, low: bigint): boolean {
    this.setKey(high, low)
    return this.admitKey()
  }

  /** Whether the id is remembered, without recording it. */
  has(high: bigint, low: bigint): boolean {
    this.setKey(high, low)
    return this.find(this.key, 0) >= 0
  }

  /**
   * Admits a hit by its ids. A hit without both ids cannot be recognised as a repeat, so it is
   * always kept: dropping it could lose data, keeping it at worst repeats it.
   */
  admitHit(hit: Hit.Hit): boolean {
    const high = hit.hitIdHigh
    const low = hit.hitIdLow
    if (high === undefined || low === undefined) return true
    // Decimal ids straight into 32-bit halves: two BigInts per hit cost more than the lookup.
    if (decimal64(high, this.key, 0) && decimal64(low, this.key, 2)) return this.admitKey()
    return this.admit(BigInt(high), BigInt(low))
  }
}

const two32 = 4294967296
const powersOf10 = [1, 10, 100, 1000, 10000]

/**
 * @internal
 *
 * Writes the value of a string of 1 to 20 decimal digits, modulo 2^64, into `out[at]` (upper 32
 * bits) and `out[at + 1]` (lower); `false`, writing nothing, for any other string. Four digits at
 * a time, so that `lower * 10^4 + digits` stays below 2^53, exact in a double.
 */
export const decimal64 = (text: string, out: Uint32Array, at: number): boolean => {
  const n = text.length
  if (n === 0 || n > 20) return false
  let upper = 0
  let lower = 0
  let i = 0
  while (i < n) {
    // The first group takes what is left over, so the rest are whole groups of four.
    const end = i === 0 ? n % 4 || 4 : i + 4
    let group = 0
    for (let j = i; j < end; j++) {
      const digit = text.charCodeAt(j) - 48
      if (digit < 0 || digit > 9) return false
      group = group * 10 + digit
    }
    const scale = powersOf10[end - i]
    const t = lower * scale + group
    const carry = Math.floor(t / two32)
    lower = t - carry * two32
    upper = (Math.imul(upper, scale) + carry) >>> 0
    i = end
  }
  out[at] = upper
  out[at + 1] = lower
  return true
}

/**
 * A batch of framed records sorted for delivery: the hits seen for the first time (in order),
 * the records that are not hits, and how many repeats were dropped.
 *
 * @since 0.1.0
 */
export interface Classified {
  readonly fresh: Array<Hit.Hit>
  readonly malformed: ReadonlyArray<Hit.MalformedRecord>
  readonly duplicates: number
}

/**
 * Sorts a batch of framed records into fresh hits, malformed records and repeats, admitting the
 * fresh ids into `dedup`. Pure but for the window it updates, and synchronous: one plain loop
 * per batch on the hot path.
 *
 * @since 0.1.0
 */
export const classify = (dedup: Dedup, framed: ReadonlyArray<Hit.Hit | Hit.MalformedRecord>): Classified => {
  const fresh: Array<Hit.Hit> = []
  let malformed: Array<Hit.MalformedRecord> | undefined
  let duplicates = 0
  for (let i = 0; i < framed.length; i++) {
    const record = framed[i]
    if (record instanceof Hit.MalformedRecord) (malformed ??= []).push(record)
    else if (dedup.admitHit(record)) fresh.push(record)
    else duplicates++
  }
  return { fresh, malformed: malformed ?? noMalformed, duplicates }
}

const noMalformed: ReadonlyArray<Hit.MalformedRecord> = []
