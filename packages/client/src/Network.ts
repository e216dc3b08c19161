/**
 * The network path to Adobe, as enterprise networks shape it: which certificate authorities are
 * trusted, which proxy carries the requests, and what a failure on that path means.
 *
 * - **Trust**: Node's own CAs (its bundle, the system's with `--use-system-ca`, and
 *   `NODE_EXTRA_CA_CERTS`), plus the PEM files in `caFiles` (`--ca-file`, `HITSTREAM_CA_FILE`):
 *   for a company CA that re-signs TLS. There is no switch to turn verification off.
 * - **Proxies**: `HTTPS_PROXY`, `HTTP_PROXY` and `NO_PROXY` (and their lower-case spellings) as
 *   other tools read them, or `proxy` (`--proxy`) for both schemes. HTTPS goes through a CONNECT
 *   tunnel: Node 24's built-in proxy support does it (the agents' `proxyEnv`), so TLS is still
 *   end to end and the certificate checked is Adobe's.
 * - **Failures**: `classify` turns a transport error into a fatal `NetworkRejected` (a
 *   certificate that does not verify, a proxy that refuses with 407 or 403: waiting cannot fix
 *   them, and no secret was sent) or a loss that waits like any other, with a message naming
 *   the cause (DNS, the proxy's 502, a refused connection).
 *
 * TCP keep-alive probes run every 30 s on every socket, TLS or not, through a proxy or not, so a
 * dead peer is noticed on a stream that is legitimately quiet.
 *
 * @since 0.1.0
 */
import { NodeFileSystem, NodeHttpClient } from "@effect/platform-node"
import { RedactedUrl } from "@hitstream/core"
import { Effect, FileSystem, Layer, Redacted, Schema } from "effect"
import type { HttpClient } from "effect/http"
import * as Http from "node:http"
import * as Https from "node:https"
import * as Tls from "node:tls"

/**
 * The network settings; every one is optional.
 *
 * @since 0.1.0
 */
export interface Options {
  /** PEM files of CAs trusted on top of Node's own (each may hold several certificates). */
  readonly caFiles?: ReadonlyArray<string> | undefined
  /** PEM text of CAs trusted on top of Node's own. */
  readonly ca?: ReadonlyArray<string> | undefined
  /**
   * A proxy for every request, http and https alike, in place of `HTTPS_PROXY`/`HTTP_PROXY`
   * (`NO_PROXY` still applies). Credentials go in the URL: `http://user:password@proxy:3128`.
   */
  readonly proxy?: Redacted.Redacted<string> | string | undefined
  /** Where `HTTPS_PROXY`, `HTTP_PROXY` and `NO_PROXY` are read (default: `process.env`). */
  readonly env?: Readonly<Record<string, string | undefined>> | undefined
}

/**
 * A network setting is unusable: a CA file that cannot be read or holds no certificate, a proxy
 * URL that is not one. `setting` names the flag or variable.
 *
 * @since 0.1.0
 */
export class NetworkSettingsError extends Schema.TaggedError<NetworkSettingsError>()("NetworkSettingsError", {
  setting: Schema.String,
  message: Schema.String
}) {}

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
    if (status === 407 || status === 401) {
      return {
        _tag: "Rejected",
        error: new NetworkRejected({
          reason: new ProxyRefused({
            proxy,
            status,
            message: `the proxy ${proxy} refused the tunnel to ${target} for want of valid credentials (HTTP ${status}): give them in the proxy URL (--proxy or HTTPS_PROXY) as user:password@ before the host, special characters percent-encoded. ${secret} was not sent; this is not retried`
          })
        })
      }
    }
    if (status === 403) {
      return {
        _tag: "Rejected",
        error: new NetworkRejected({
          reason: new ProxyRefused({
            proxy,
            status,
            message: `the proxy ${proxy} forbids tunnels to ${target} (HTTP 403): ask its administrators to allow CONNECT to that host and port, or list the host in NO_PROXY if it is reachable directly. ${secret} was not sent; this is not retried`
          })
        })
      }
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

const proxyVariables = ["HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"] as const

const checkProxy = (setting: string, value: string) => {
  const url = URL.parse(value)
  if (url !== null && (url.protocol === "http:" || url.protocol === "https:") && url.hostname !== "") {
    return Effect.void
  }
  return Effect.fail(
    new NetworkSettingsError({
      setting,
      message: `${setting} is not a proxy URL (its value is not shown: it may hold a password); it must look like http://proxy.example.com:3128, with any credentials as user:password@ before the host`
    })
  )
}

/**
 * The `proxyEnv` Node's agents get: the environment's proxy variables, or `proxy` for both
 * schemes with the environment's `NO_PROXY`. Checked: a value that is not a URL names its
 * setting.
 *
 * @since 0.1.0
 */
export const proxyEnv = (
  options: Options
): Effect.Effect<Record<string, string | undefined>, NetworkSettingsError> =>
  Effect.gen(function* () {
    const env = options.env ?? process.env
    const noProxy = { NO_PROXY: env.NO_PROXY, no_proxy: env.no_proxy }
    if (options.proxy !== undefined) {
      const proxy = Redacted.isRedacted(options.proxy) ? Redacted.value(options.proxy) : options.proxy
      yield* checkProxy("--proxy", proxy)
      return { HTTPS_PROXY: proxy, HTTP_PROXY: proxy, ...noProxy }
    }
    const result: Record<string, string | undefined> = { ...noProxy }
    for (const name of proxyVariables) {
      const value = env[name]
      if (value === undefined || value === "") continue
      yield* checkProxy(name, value)
      result[name] = value
    }
    return result
  })

const pemCertificate = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g

/**
 * The extra CAs, read and checked: each file must hold at least one PEM certificate.
 *
 * @since 0.1.0
 */
export const extraCertificates = (
  options: Options
): Effect.Effect<ReadonlyArray<string>, NetworkSettingsError> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const certificates: Array<string> = [...(options.ca ?? [])]
    for (const file of options.caFiles ?? []) {
      const text = yield* fs.readFileString(file).pipe(
        Effect.mapError(
          (e) =>
            new NetworkSettingsError({
              setting: "--ca-file",
              message: `cannot read the CA file ${file} (--ca-file / HITSTREAM_CA_FILE): ${e.message}`
            })
        )
      )
      const found = text.match(pemCertificate)
      if (found === null) {
        return yield* new NetworkSettingsError({
          setting: "--ca-file",
          message: `the CA file ${file} (--ca-file / HITSTREAM_CA_FILE) holds no PEM certificate ("-----BEGIN CERTIFICATE-----"); convert a DER file with: openssl x509 -inform der -in ca.cer -out ca.pem`
        })
      }
      certificates.push(...found)
    }
    return certificates
  }).pipe(Effect.provide(NodeFileSystem.layer))

/**
 * Node's `http` and `https` agents for these settings, destroyed with the scope.
 *
 * @since 0.1.0
 */
export const makeAgents = (options: Options = {}) =>
  Effect.gen(function* () {
    const env = yield* proxyEnv(options)
    const extra = yield* extraCertificates(options)
    const common = { keepAlive: true, keepAliveMsecs: 30_000, proxyEnv: env }
    // `ca` replaces Node's list, so the extra ones are added to the default list (which already
    // holds NODE_EXTRA_CA_CERTS and, with --use-system-ca, the system's store).
    const ca = extra.length === 0 ? undefined : [...Tls.getCACertificates("default"), ...extra]
    const http = yield* Effect.acquireRelease(
      Effect.sync(() => new Http.Agent(common)),
      (agent) => Effect.sync(() => agent.destroy())
    )
    const https = yield* Effect.acquireRelease(
      Effect.sync(() => new Https.Agent(ca === undefined ? common : { ...common, ca })),
      (agent) => Effect.sync(() => agent.destroy())
    )
    return { http, https }
  })

/**
 * Node's HTTP client with these settings: extra CAs, proxies, TCP keep-alive.
 *
 * @since 0.1.0
 */
export const layer = (options: Options = {}): Layer.Layer<HttpClient.HttpClient, NetworkSettingsError> =>
  NodeHttpClient.layerNodeHttpNoAgent.pipe(
    Layer.provide(Layer.effect(NodeHttpClient.HttpAgent, makeAgents(options)))
  )

/**
 * The settings from `HITSTREAM_CA_FILE` (a PEM file, or several separated by commas) and
 * `HITSTREAM_PROXY`, on top of the standard proxy variables.
 *
 * @since 0.1.0
 */
export const optionsFromEnv = (env: Readonly<Record<string, string | undefined>> = process.env): Options => {
  const caFiles = (env.HITSTREAM_CA_FILE ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
  const proxy = env.HITSTREAM_PROXY
  return {
    env,
    ...(caFiles.length > 0 ? { caFiles } : {}),
    ...(proxy !== undefined && proxy !== "" ? { proxy: Redacted.make(proxy, { label: "proxy" }) } : {})
  }
}

/**
 * `layer` with the settings from the environment (`optionsFromEnv`).
 *
 * @since 0.1.0
 */
export const layerFromEnv: Layer.Layer<HttpClient.HttpClient, NetworkSettingsError> = Layer.unwrap(
  Effect.sync(() => layer(optionsFromEnv()))
)

/**
 * One line for a startup log: the proxy in use (credentials redacted), `NO_PROXY`, and how many
 * extra CAs are trusted. Never shows a password.
 *
 * @since 0.1.0
 */
export const describe = (options: Options): string => {
  const env = options.env ?? process.env
  const proxy =
    options.proxy !== undefined
      ? Redacted.isRedacted(options.proxy)
        ? Redacted.value(options.proxy)
        : options.proxy
      : (env.https_proxy ?? env.HTTPS_PROXY ?? env.http_proxy ?? env.HTTP_PROXY)
  const noProxy = env.no_proxy ?? env.NO_PROXY
  const cas = (options.caFiles?.length ?? 0) + (options.ca?.length ?? 0)
  return [
    proxy ? `proxy ${RedactedUrl.redactUrl(proxy)}` : "no proxy",
    ...(proxy && noProxy ? [`NO_PROXY ${noProxy}`] : []),
    cas > 0 ? `${cas} extra CA source${cas === 1 ? "" : "s"}` : "Node's CAs"
  ].join(", ")
}
