/**
 * How the soak counts what the client wrote: every id seen, and those seen twice, scanned from
 * its stdout as it arrives.
 *
 * @since 0.1.0
 */

/**
 * The ids written to stdout, one record a line, counted as they arrive: a Set of `high:low`.
 * Lines are scanned for the two id fields only; the driver must keep up with catch-up bursts.
 *
 * @since 0.1.0
 */
export class Ids {
  readonly seen = new Set<string>()
  written = 0
  duplicated = 0
  private carry = ""

  push(chunk: string) {
    const text = this.carry + chunk
    let start = 0
    let end = text.indexOf("\n", start)
    while (end >= 0) {
      this.line(text, start, end)
      start = end + 1
      end = text.indexOf("\n", start)
    }
    this.carry = text.slice(start)
  }

  /** Lines that are not records (`--trace-gc` prints to stdout), when kept. */
  other: ((line: string) => void) | undefined

  private line(text: string, start: number, end: number) {
    if (this.other !== undefined && text[start] !== "{") this.other(text.slice(start, end + 1))
    const high = digitsAfter(text, '"hitIdHigh"', start, end)
    const low = digitsAfter(text, '"hitIdLow"', start, end)
    if (high === undefined || low === undefined) return
    this.written++
    // Fresh strings: a slice of the chunk, kept in the Set, would keep the whole chunk alive (the
    // driver reached 3.3 GB 650 s into a 10-minute soak, every chunk of the output retained).
    const key = `${BigInt(high)}:${BigInt(low)}`
    if (this.seen.has(key)) this.duplicated++
    else this.seen.add(key)
  }
}

const digitsAfter = (text: string, key: string, start: number, end: number): string | undefined => {
  const at = text.indexOf(key, start)
  if (at < 0 || at >= end) return undefined
  let i = at + key.length
  while (i < end && (text[i] === ":" || text[i] === " " || text[i] === '"')) i++
  let j = i
  while (j < end && text.charCodeAt(j) >= 48 && text.charCodeAt(j) <= 57) j++
  return j > i ? text.slice(i, j) : undefined
}
