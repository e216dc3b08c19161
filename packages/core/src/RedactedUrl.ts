/**
 * URLs as they may be shown: in logs, errors, the status line, metric labels and file names.
 *
 * An operator may put credentials in a URL (`https://user:pass@host/...`), and a server may send
 * a redirect whose `Location` carries them. Anything shown goes through `redactUrl`, which
 * replaces the userinfo with `***` and the values of query parameters whose names look secret
 * (`token`, `sig`, `key`, `secret`, `password`, ...). Strings that are not URLs are redacted too,
 * by pattern, because a bad value is exactly what an error message quotes.
 *
 * @since 0.1.0
 */

/**
 * What replaces a secret.
 *
 * @since 0.1.0
 */
export const mask = "***"

// Query parameter names whose values are credentials in the wild: OAuth tokens, signed-URL
// signatures (`X-Amz-Signature`, `sig`), API keys and passwords.
const secretParam = /token|secret|passw|pwd|sig|key|auth|credential/i

// `scheme://userinfo@` in text that may not parse as a URL. A person may type a password with
// `/`, `?` or `#` in it unencoded, so the userinfo runs up to the last `@` of the token (no
// whitespace): over-masking a path that holds an `@` is the safe mistake.
const userinfoPattern = /([a-z][a-z0-9+.-]*:\/\/)\S*@/gi

// `name=value` pairs for secret-looking names in a query or fragment of unparsable text.
const paramPattern = /([?&#;]([^=&#\s]*)=)([^&#\s]*)/g

/**
 * Text (an error message, a log line, a value that did not parse as a URL) with the userinfo of
 * every `scheme://...@` in it and secret-looking `name=value` query pairs masked.
 *
 * @since 0.1.0
 */
export const redactText = (text: string): string =>
  text
    .replace(userinfoPattern, `$1${mask}@`)
    .replace(paramPattern, (all, prefix: string, name: string, value: string) =>
      value !== "" && secretParam.test(name) ? `${prefix}${mask}` : all
    )

/**
 * The URL with its userinfo replaced by `***` and secret-looking query values masked. Total:
 * any string comes back redacted, parsable or not.
 *
 * @since 0.1.0
 */
export const redactUrl = (url: string | URL): string => {
  let parsed: URL
  try {
    parsed = typeof url === "string" ? new URL(url) : new URL(url.href)
  } catch {
    return redactText(String(url))
  }
  // `http://us/er:pa#ss@host/` parses with the credentials in the path or fragment: a person
  // typed them unencoded. `http://us@er#:pa@host/` even parses with a user name (`us`), the rest
  // of the credentials in the fragment. Whenever an `@` follows the host, where the credentials
  // end is unknown: mask by pattern, up to the last `@` (a path holding an `@` is over-masked,
  // the safe mistake).
  const hasUserinfo = parsed.username !== "" || parsed.password !== ""
  if (`${parsed.pathname}${parsed.search}${parsed.hash}`.includes("@")) return redactText(String(url))
  if (hasUserinfo) {
    parsed.username = mask
    parsed.password = ""
  }
  for (const name of Array.from(parsed.searchParams.keys())) {
    if (secretParam.test(name) && parsed.searchParams.get(name) !== "") parsed.searchParams.set(name, mask)
  }
  // A fragment never reaches the server but may carry a token (OAuth implicit flow).
  if (parsed.hash !== "") parsed.hash = redactText(parsed.hash)
  // The WHATWG serializer keeps `*` as is in the username and in a re-encoded query.
  return parsed.href
}

/**
 * The part of a URL that identifies a stream without any credential: host (with port) and path.
 * Used to name per-endpoint state files.
 *
 * @since 0.1.0
 */
export const endpointKey = (url: string | URL): string => {
  try {
    const parsed = typeof url === "string" ? new URL(url) : url
    return `${parsed.host}${parsed.pathname}`
  } catch {
    return redactText(String(url))
  }
}
