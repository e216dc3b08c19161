/**
 * What a failure on the network path to Adobe means: a fatal `NetworkRejected` (a certificate
 * that does not verify, a proxy that refuses with 407 or 403: waiting cannot fix them, and no
 * secret was sent), or a loss that waits like any other, with a message naming the cause (DNS,
 * the proxy's 502, a refused connection). Pure: `classify` reads the transport error alone.
 *
 * Re-exported by `Network`, whose settings and agents this complements.
 *
 * @since 0.1.0
 */
import { RedactedUrl } from "@hitstream/core"
import { Schema } from "effect"

/**
 * Which check a server's certificate failed: who signed it, the name it is for, its dates, or
 * another (revoked, malformed, wrong purpose).
 *
 * @since 0.1.0
 */
export type CertificateCheck = "issuer" | "hostname" | "validity" | "other"

/**
 * The server's certificate did not verify. Nothing was sent: the handshake comes before the
 * request, so the token (or the client secret, for IMS) never left.
 *
 * @since 0.1.0
 */
export class UntrustedCertificate extends Schema.TaggedError<UntrustedCertificate>()("UntrustedCertificate", {
  /** The URL's origin (redacted). */
  origin: Schema.String,
  check: Schema.Literals(["issuer", "hostname", "validity", "other"]),
  /** OpenSSL's or Node's code, e.g. `UNABLE_TO_VERIFY_LEAF_SIGNATURE`, `ERR_TLS_CERT_ALTNAME_INVALID`. */
  code: Schema.String,
  message: Schema.String
}) {}

/**
 * The proxy refused the tunnel: it wants credentials (407, or 401) or forbids the destination
 * (403).
 *
 * @since 0.1.0
 */
export class ProxyRefused extends Schema.TaggedError<ProxyRefused>()("ProxyRefused", {
  /** The proxy's URL, credentials redacted. */
  proxy: Schema.String,
  status: Schema.Number,
  message: Schema.String
}) {}

/**
 * @since 0.1.0
 */
export const NetworkRejectedReason = Schema.Union([UntrustedCertificate, ProxyRefused])

/**
 * @since 0.1.0
 */
export type NetworkRejectedReason = typeof NetworkRejectedReason.Type

/**
 * The network path refused in a way waiting cannot fix: fatal, never retried, and the secret was
 * not sent. `reason` says which check failed and the message how to fix it.
 *
 * @since 0.1.0
 */
export class NetworkRejected extends Schema.TaggedError<NetworkRejected>()("NetworkRejected", {
  reason: NetworkRejectedReason
}) {
  override get message(): string {
    return this.reason.message
  }
}

/**
 * How a transport failure reads: fatal, or a loss whose message names the cause.
 *
 * @since 0.1.0
 */
export type Failure =
  | { readonly _tag: "Rejected"; readonly error: NetworkRejected }
  | { readonly _tag: "Loss"; readonly kind: "dns" | "proxy" | "tls" | "network"; readonly message: string }

const issuerCodes = new Set([
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "CERT_UNTRUSTED",
  "CERT_SIGNATURE_FAILURE",
  "CERT_CHAIN_TOO_LONG",
  "INVALID_CA",
  "PATH_LENGTH_EXCEEDED"
])
const hostnameCodes = new Set(["ERR_TLS_CERT_ALTNAME_INVALID", "HOSTNAME_MISMATCH"])
const validityCodes = new Set([
  "CERT_HAS_EXPIRED",
  "CERT_NOT_YET_VALID",
  "ERROR_IN_CERT_NOT_BEFORE_FIELD",
  "ERROR_IN_CERT_NOT_AFTER_FIELD"
])
const otherCertificateCodes = new Set([
  "CERT_REVOKED",
  "CERT_REJECTED",
  "INVALID_PURPOSE",
  "UNABLE_TO_DECRYPT_CERT_SIGNATURE",
  "UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY",
  "ERR_TLS_CERT_SIGNATURE_ALGORITHM_UNSUPPORTED"
])
const dnsCodes = new Set(["ENOTFOUND", "EAI_AGAIN", "EAI_FAIL", "EAI_NONAME", "ENODATA", "ESERVFAIL"])

/**
 * Which certificate check an error code is, or `undefined` when it is no certificate error.
 *
 * @since 0.1.0
 */
export const certificateCheck = (code: string): CertificateCheck | undefined =>
  issuerCodes.has(code)
    ? "issuer"
    : hostnameCodes.has(code)
      ? "hostname"
      : validityCodes.has(code)
        ? "validity"
        : otherCertificateCodes.has(code)
          ? "other"
          : undefined

interface NodeError {
  readonly code?: unknown
  readonly message?: unknown
  readonly statusCode?: unknown
  readonly hostname?: unknown
  readonly cause?: unknown
}

// Node's error sits a few causes deep in the HTTP client's error.
const nodeError = (error: unknown): (NodeError & { readonly code: string }) | undefined => {
  let current = error as NodeError | undefined
  for (let depth = 0; depth < 6 && current !== undefined && current !== null; depth++) {
    if (typeof current.code === "string") return current as NodeError & { readonly code: string }
    // Effect's HttpClientError keeps the transport error under `reason`, Node's under `cause`.
    current = (current.cause ?? (current as { readonly reason?: unknown }).reason) as NodeError | undefined
  }
  return undefined
}

const tunnelPattern = /tunnel to (\S+) via (\S+?):? HTTP\/[\d.]+ (\d{3})/

/**
 * What a transport failure means, for the request to `url` (shown redacted) that would have
 * carried `secret` ("the token", "the client secret"). `undefined` for an error that is not
 * from the network (the caller's own handling applies). Pure.
 *
 * @since 0.1.0
 */
export const classify = (error: unknown, url: string | URL, secret: string): Failure | undefined => {
  const cause = nodeError(error)
  if (cause === undefined) return undefined
  const code = cause.code
  const detail = RedactedUrl.redactText(typeof cause.message === "string" ? cause.message : code)
  const parsed = URL.parse(String(url))
  const origin = parsed === null ? RedactedUrl.redactText(String(url)) : parsed.origin
  const host = parsed?.host ?? origin
  const check = certificateCheck(code)
  if (check !== undefined) {
    const fix =
      check === "issuer"
        ? `If your network re-signs TLS (a company proxy or gateway), trust its CA: --ca-file /path/to/company-ca.pem or HITSTREAM_CA_FILE (NODE_EXTRA_CA_CERTS works too; node --use-system-ca uses the system's store)`
        : check === "hostname"
          ? `Check the URL's host name; a DNS entry or a transparent proxy may be sending ${host} to another server`
          : check === "validity"
            ? `Check this machine's clock; if it is right, the server's certificate needs renewing`
            : `The certificate itself is unusable; the server's owner needs to replace it`
    const what =
      check === "issuer"
        ? `is not signed by a certificate authority this machine trusts`
        : check === "hostname"
          ? `is not for the name ${parsed?.hostname ?? host}`
          : check === "validity"
            ? code === "CERT_HAS_EXPIRED"
              ? `has expired`
              : `is outside its validity dates`
            : `was rejected`
    return {
      _tag: "Rejected",
      error: new NetworkRejected({
        reason: new UntrustedCertificate({
          origin,
          check,
          code,
          message: `TLS certificate check failed (${check}): the certificate of ${host} ${what} (${code}: ${detail}). ${fix}. ${secret} was not sent; this is not retried`
        })
      })
    }
  }
  if (code === "ERR_PROXY_TUNNEL") {
    const match = tunnelPattern.exec(typeof cause.message === "string" ? cause.message : "")
    const status = typeof cause.statusCode === "number" ? cause.statusCode : Number(match?.[3] ?? 0)
    const proxy = RedactedUrl.redactUrl(match?.[2] ?? "the proxy")
    const target = match?.[1] ?? host
    const refused = (message: string) => ({
      _tag: "Rejected" as const,
      error: new NetworkRejected({ reason: new ProxyRefused({ proxy, status, message }) })
    })
    if (status === 407 || status === 401) {
      return refused(
        `the proxy ${proxy} refused the tunnel to ${target} for want of valid credentials (HTTP ${status}): give them in the proxy URL (--proxy or HTTPS_PROXY) as user:password@ before the host, special characters percent-encoded. ${secret} was not sent; this is not retried`
      )
    }
    if (status === 403) {
      return refused(
        `the proxy ${proxy} forbids tunnels to ${target} (HTTP 403): ask its administrators to allow CONNECT to that host and port, or list the host in NO_PROXY if it is reachable directly. ${secret} was not sent; this is not retried`
      )
    }
    return {
      _tag: "Loss",
      kind: "proxy",
      message: `the proxy ${proxy} could not open a tunnel to ${target} (HTTP ${status || "?"}): it could not reach the host or is overloaded`
    }
  }
  if (dnsCodes.has(code)) {
    const name = typeof cause.hostname === "string" ? cause.hostname : (parsed?.hostname ?? host)
    return {
      _tag: "Loss",
      kind: "dns",
      message:
        code === "EAI_AGAIN"
          ? `DNS lookup of ${name} failed for now (EAI_AGAIN): the resolver did not answer`
          : `DNS lookup of ${name} failed (${code}): the name does not resolve; check the host name in the URL and this machine's resolver`
    }
  }
  if (code.startsWith("ERR_SSL") || code === "EPROTO" || code.startsWith("ERR_TLS")) {
    return { _tag: "Loss", kind: "tls", message: `TLS handshake with ${host} failed (${code}): ${detail}` }
  }
  return { _tag: "Loss", kind: "network", message: `${detail}${detail.includes(code) ? "" : ` (${code})`}` }
}
