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

export {
  /** @since 0.1.0 */
  type CertificateCheck,
  /** @since 0.1.0 */
  certificateCheck,
  /** @since 0.1.0 */
  classify,
  /** @since 0.1.0 */
  type Failure,
  /** @since 0.1.0 */
  NetworkRejected,
  /** @since 0.1.0 */
  NetworkRejectedReason,
  /** @since 0.1.0 */
  ProxyRefused,
  /** @since 0.1.0 */
  UntrustedCertificate
} from "./NetworkFailure.ts"

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
