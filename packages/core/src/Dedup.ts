/**
 * Drops hits already seen, by (`hitIdHigh`, `hitIdLow`), within a bounded window.
 *
 * Duplicates are normal around reconnects (the server backfills from where it thinks the client
 * stopped) and when clients join. A window of the last `capacity` distinct ids is enough: a
 * backfill re-sends seconds or minutes of hits, not millions.
 *
 * Memory is fixed at creation and small: the ids live in a ring of two `BigUint64Array`s
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
  private readonly high: BigUint64Array
  private readonly low: BigUint64Array
  // Slot -> ring index + 1; 0 is empty.
  private readonly table: Int32Array
  private readonly mask: number
  private next = 0
  private count = 0

  constructor(capacity: number = defaultCapacity) {
    if (!Number.isInteger(capacity) || capacity < 1 || capacity > 100_000_000) {
      throw new RangeError(`Dedup capacity must be an integer from 1 to 100000000, got ${capacity}`)
    }
    this.capacity = capacity
    this.high = new BigUint64Array(capacity)
    this.low = new BigUint64Array(capacity)
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
    return this.high.byteLength + this.low.byteLength + this.table.byteLength
  }

  private slotOf(high: bigint, low: bigint): number {
    const h = Number(BigInt.asUintN(32, low)) ^ Math.imul(Number(BigInt.asUintN(32, high)), 0x9e3779b1)
    return Math.imul(h ^ (h >>> 15), 0x85ebca6b) & this.mask
  }

  private find(high: bigint, low: bigint): number {
    let slot = this.slotOf(high, low)
    for (;;) {
      const entry = this.table[slot]
      if (entry === 0) return -1 - slot
      if (this.low[entry - 1] === low && this.high[entry - 1] === high) return slot
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
      const home = this.slotOf(this.high[entry - 1], this.low[entry - 1])
      if (((i - home) & mask) >= ((i - hole) & mask)) {
        this.table[hole] = entry
        hole = i
      }
      i = (i + 1) & mask
    }
    this.table[hole] = 0
  }

  /**
   * Records the id and says whether it is new. `false` means a repeat within the window: drop
   * the hit.
   */
  admit(high: bigint, low: bigint): boolean {
    const found = this.find(high, low)
    if (found >= 0) return false
    let free = -1 - found
    const index = this.next
    if (this.count === this.capacity) {
      const evicted = this.find(this.high[index], this.low[index])
      this.removeSlot(evicted)
      // The deletion may have shifted entries into the free slot found above.
      free = -1 - this.find(high, low)
    } else {
      this.count++
    }
    this.high[index] = high
    this.low[index] = low
    this.table[free] = index + 1
    this.next = index + 1 === this.capacity ? 0 : index + 1
    return true
  }

  /** Whether the id is remembered, without recording it. */
  has(high: bigint, low: bigint): boolean {
    return this.find(high, low) >= 0
  }

  /**
   * Admits a hit by its ids. A hit without both ids cannot be recognised as a repeat, so it is
   * always kept: dropping it could lose data, keeping it at worst repeats it.
   */
  admitHit(hit: Hit.Hit): boolean {
    const high = hit.hitIdHigh
    const low = hit.hitIdLow
    if (high === undefined || low === undefined) return true
    return this.admit(BigInt(high), BigInt(low))
  }
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
