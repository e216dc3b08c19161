/**
 * Writing into a batch buffer without building strings: short copies, and decimal digits (the
 * 64-bit ids' too, without BigInt). What `HitGenerator.encodeInto` is made of.
 *
 * @since 0.1.0
 */

/**
 * Copies `source` into `target` at `at`; returns the offset after it. Short pieces are copied by
 * hand: `TypedArray.set` costs more than the copy below ~32 bytes.
 *
 * @since 0.1.0
 */
export const copy = (target: Buffer, source: Buffer, at: number): number => {
  const length = source.length
  if (length > 32) {
    target.set(source, at)
    return at + length
  }
  for (let i = 0; i < length; i++) target[at + i] = source[i]
  return at + length
}

const tens = [1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15]

/**
 * A non-negative integer below 2^53 in decimal ASCII at `at`, at least `width` digits
 * (zero-padded); returns the offset after it.
 *
 * @since 0.1.0
 */
export const digits = (target: Buffer, at: number, value: number, width: number): number => {
  let count = 1
  while (count < 16 && value >= tens[count]) count++
  if (count < width) count = width
  let x = value
  for (let p = at + count - 1; p >= at; p--) {
    const q = Math.floor(x / 10)
    target[p] = 48 + x - q * 10
    x = q
  }
  return at + count
}

/**
 * `hi * 2^32 + lo` (two unsigned 32-bit halves) in decimal ASCII at `at`, as
 * `HitGenerator.decimal64` writes it: 2^32 is 4294 * 10^6 + 967296, so the value is
 * a * 10^6 + b with a and b exact doubles.
 *
 * @since 0.1.0
 */
export const digits64 = (target: Buffer, at: number, hi: number, lo: number): number => {
  let a = hi * 4294
  let b = hi * 967_296 + lo
  const carry = Math.floor(b / 1_000_000)
  a += carry
  b -= carry * 1_000_000
  return a === 0 ? digits(target, at, b, 1) : digits(target, digits(target, at, a, 1), b, 6)
}
