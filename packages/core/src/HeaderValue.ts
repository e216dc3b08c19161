/**
 * Values sent in HTTP headers (the client id as `x-api-key`, the bearer token): checked when
 * the configuration is loaded, so that a newline pasted from a file is refused with the name of
 * the variable, rather than making Node throw inside the first request.
 *
 * @since 0.1.0
 */
import { Redacted, Schema } from "effect"

/**
 * Why a value cannot travel in an HTTP header, or `undefined` when it can: header values hold
 * visible ASCII only here (ids and bearer tokens never need more), and a control character,
 * typically a newline pasted from a file, makes Node throw inside the request. Names the
 * character and its position, never the value, so it is safe for secrets.
 *
 * @since 0.1.0
 */
export const problem = (value: string): string | undefined => {
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i)
    if (code < 0x21 || code > 0x7e) {
      const what =
        code === 0x0a
          ? "a line feed (\\n)"
          : code === 0x0d
            ? "a carriage return (\\r)"
            : code === 0x09
              ? "a tab"
              : code === 0x20
                ? "a space"
                : code < 0x20 || code === 0x7f
                  ? `a control character (U+${code.toString(16).toUpperCase().padStart(4, "0")})`
                  : `a non-ASCII character (U+${code.toString(16).toUpperCase().padStart(4, "0")})`
      return `it contains ${what} at position ${i + 1}, and is sent in an HTTP header, which cannot carry it; check for a trailing newline in the variable or file it came from`
    }
  }
  return undefined
}

/**
 * A check for a string sent in a header, failing with `problem`'s message.
 *
 * @since 0.1.0
 */
export const isHeaderValue = Schema.makeFilter((s: string) => problem(s) ?? true)

/**
 * The same check for a secret sent in a header (the bearer token): it checks the `Redacted` as a
 * whole, as a check on the inner string would lose its message inside the `Redacted`.
 *
 * @since 0.1.0
 */
export const isRedactedHeaderValue = Schema.makeFilter(
  (r: Redacted.Redacted<string>) => problem(Redacted.value(r)) ?? true
)
