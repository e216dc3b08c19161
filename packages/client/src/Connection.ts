/**
 * One connection attempt to Live Stream, as a scoped resource.
 *
 * `open` sends `GET` with `Authorization: Bearer`, `x-api-key` and `Accept-Encoding: gzip`, the
 * query from the configuration, and follows redirects by hand (at most 5 hops), because many
 * HTTP libraries drop `Authorization` on a redirect (WHATWG fetch does across hosts) and Live
 * Stream needs it again at the new URL. The token and `Accept-Encoding` go only to hosts in
 * `trustedRedirectHosts`; a redirect to any other host, or from https to http, is a security
 * stop (`RedirectRejected`): fatal, never retried, and the token is never sent there.
 *
 * Every URL in an error, a log line or the result is shown through `RedactedUrl.redactUrl`: a
 * password in the configured URL or in a redirect's `Location` never leaves this module.
 *
 * A response that is not valid HTTP (Node's parser fails with `HPE_*`, e.g. a 100 KB
 * `Location` header: `HPE_HEADER_OVERFLOW`) is a protocol error: a failure that waits with
 * growth like a network error, logged with its cause the first time in a row and quietly after.
 *
 * A status other than 200 fails with `ConnectionRefused`, carrying the classified
 * `ConnectionEnd` the reconnect policy consumes (and the body's `error_description`). A 200
 * gives the raw body bytes (still gzip). Closing the scope closes the socket.
 *
 * @since 0.1.0
 */
import { ReconnectPolicy, RedactedUrl } from "@hitstream/core"
import { Clock, Context, Effect, Layer, Redacted, Scope, Stream } from "effect"
import { HttpClient, HttpClientRequest, type HttpClientResponse } from "effect/http"
import { httpClient as configuredHttpClient, LiveStreamConfig } from "./LiveStreamConfig.ts"
import * as Network from "./Network.ts"
import { type AuthError, TokenProvider } from "./TokenProvider.ts"

export {
  /** @since 0.1.0 */
  ConnectionLost,
  /** @since 0.1.0 */
  ConnectionRefused,
  /** @since 0.1.0 */
  EnableError,
  /** @since 0.1.0 */
  InsecureRedirect,
  /** @since 0.1.0 */
  RedirectRejected,
  /** @since 0.1.0 */
  RedirectRejectedReason,
  /** @since 0.1.0 */
  TooManyRedirects,
  /** @since 0.1.0 */
  UntrustedHost
} from "./ConnectionErrors.ts"

import {
  ConnectionLost,
  ConnectionRefused,
  EnableError,
  InsecureRedirect,
  RedirectRejected,
  TooManyRedirects,
  UntrustedHost
} from "./ConnectionErrors.ts"

/**
 * @since 0.1.0
 */
export type ConnectError = ConnectionRefused | RedirectRejected | AuthError | Network.NetworkRejected

/**
 * An open stream: the URL that answered 200 (after redirects, redacted for display) and its
 * body, gzip as received.
 *
 * @since 0.1.0
 */
export interface ConnectionBody {
  readonly url: string
  readonly bytes: Stream.Stream<Uint8Array, ConnectionLost>
}

/**
 * Whether a host matches one of the patterns: `host` exactly, or `*.domain` for any subdomain.
 *
 * @since 0.1.0
 */
export const isTrustedHost = (host: string, patterns: ReadonlyArray<string>): boolean => {
  const h = host.toLowerCase()
  return patterns.some((pattern) => {
    const p = pattern.toLowerCase().trim()
    return p.startsWith("*.") ? h.endsWith(p.slice(1)) && h.length > p.length - 1 : h === p
  })
}

/**
 * The stream URL with the query the configuration asks for.
 *
 * @since 0.1.0
 */
export const streamUrl = (config: LiveStreamConfig["Service"]): URL => {
  const url = new URL(config.url)
  // Every client of a stream must send the same value, so it is always sent.
  url.searchParams.set("maxConnections", String(config.maxConnections))
  if (config.reset !== undefined) url.searchParams.set("reset", config.reset)
  if (config.smoothing) {
    url.searchParams.set("smoothing", "1")
    if (config.smoothingBucketSize !== undefined) {
      url.searchParams.set("smoothingBucketSize", String(config.smoothingBucketSize))
    }
  }
  return url
}

/**
 * The enable URL for a stream URL: `/api/N/stream/{name}` becomes `/api/2/enable/{name}`.
 *
 * @since 0.1.0
 */
export const enableUrl = (url: string): string => {
  const parsed = new URL(url)
  const match = /\/api\/\d+\/stream\/([^/?]+)/.exec(parsed.pathname)
  const name = match?.[1] ?? parsed.pathname.split("/").filter(Boolean).pop() ?? ""
  return `${parsed.origin}/api/2/enable/${name}`
}

// The HTTP client's message names the request; the cause (reset, premature close) is the news.
// Redacted: a message may quote the URL it failed on.
const causeOf = (error: { readonly message: string; readonly cause?: unknown }): string => {
  const cause = error.cause as { readonly message?: string; readonly code?: string } | undefined
  const text = cause?.message
    ? cause.code
      ? `${cause.message} (${cause.code})`
      : cause.message
    : error.message
  return RedactedUrl.redactText(text)
}

// Node's HTTP parser names its failures `HPE_*`; they sit a few causes deep in the client error.
const parserCode = (error: unknown): string | undefined => {
  let current = error as { readonly code?: unknown; readonly cause?: unknown } | undefined
  for (let depth = 0; depth < 5 && current !== undefined && current !== null; depth++) {
    if (typeof current.code === "string" && current.code.startsWith("HPE_")) return current.code
    current = current.cause as typeof current
  }
  return undefined
}

/**
 * What a Node HTTP parser failure means, for an operator.
 *
 * @since 0.1.0
 */
export const protocolProblem = (code: string): string =>
  code === "HPE_HEADER_OVERFLOW"
    ? "the response headers are larger than Node accepts (16 KiB unless --max-http-header-size says otherwise)"
    : `the response is not valid HTTP (${code})`

const redirectStatuses = new Set([301, 302, 303, 307, 308])
const maxHops = 5

const errorDescription = (response: HttpClientResponse.HttpClientResponse) =>
  response.text.pipe(
    Effect.map((text) => {
      try {
        const body = JSON.parse(text)
        return typeof body?.error_description === "string"
          ? (body.error_description as string)
          : text.slice(0, 200) || undefined
      } catch {
        return text.slice(0, 200) || undefined
      }
    }),
    Effect.orElseSucceed(() => undefined)
  )

/**
 * @since 0.1.0
 */
export class Connection extends Context.Service<
  Connection,
  {
    /** One attempt: redirects followed, status classified, the body open until the scope closes. */
    readonly open: (slot: number) => Effect.Effect<ConnectionBody, ConnectError, Scope.Scope>
    /** Enables the stream for the current API version (the fix for a 424); the server's message. */
    readonly enable: Effect.Effect<string, EnableError | AuthError | Network.NetworkRejected>
  }
>()("@hitstream/client/Connection") {}

/**
 * @since 0.1.0
 */
export const layer: Layer.Layer<Connection, never, LiveStreamConfig | TokenProvider | HttpClient.HttpClient> =
  Layer.effect(
    Connection,
    Effect.gen(function* () {
      const config = yield* LiveStreamConfig
      const tokens = yield* TokenProvider
      const client = (yield* configuredHttpClient).pipe(HttpClient.withScope)

      const headers = (token: Redacted.Redacted<string>) => ({
        authorization: `Bearer ${Redacted.value(token)}`,
        "x-api-key": config.clientId,
        "accept-encoding": "gzip"
      })

      const refused = (end: ReconnectPolicy.ConnectionEnd, message: string) =>
        new ConnectionRefused({ end, message })

      // The protocol error each slot's previous attempt ended with, so a repeat is logged once.
      const lastProtocolError = new Map<number, string>()

      const protocolError = (slot: number, shown: string, code: string, detail: string) => {
        const message = `protocol error from ${shown}: ${detail}`
        const repeat = lastProtocolError.get(slot) === code
        lastProtocolError.set(slot, code)
        return new ConnectionRefused({
          end: ReconnectPolicy.ConnectionEnd.NetworkError({ streamedMillis: 0, message }),
          message: repeat ? `${message} (again)` : message,
          repeat
        })
      }

      const networkError =
        (slot: number, shown: string) => (error: { readonly message: string; readonly cause?: unknown }) => {
          const code = parserCode(error)
          if (code !== undefined)
            return protocolError(slot, shown, code, `${protocolProblem(code)}; cause: ${causeOf(error)}`)
          lastProtocolError.delete(slot)
          // A certificate or a proxy refusal is fatal (the token was not sent); any other
          // failure is a loss, named (DNS, the proxy's 502, a reset) for the log.
          const failed = Network.classify(error, shown, "The token")
          if (failed?._tag === "Rejected") return failed.error
          const cause = failed?.message ?? causeOf(error)
          return refused(
            ReconnectPolicy.ConnectionEnd.NetworkError({ streamedMillis: 0, message: cause }),
            `cannot connect to ${shown}: ${cause}`
          )
        }

      const open = Effect.fn("Connection.open")(function* (slot: number) {
        yield* Effect.annotateCurrentSpan({ slot, url: RedactedUrl.redactUrl(config.url) })
        const token = yield* tokens.get
        let url = streamUrl(config)
        for (let hop = 0; hop <= maxHops; hop++) {
          const shown = RedactedUrl.redactUrl(url)
          const response = yield* client
            .execute(HttpClientRequest.get(url).pipe(HttpClientRequest.setHeaders(headers(token))))
            .pipe(Effect.mapError(networkError(slot, shown)))
          if (redirectStatuses.has(response.status)) {
            const location = response.headers["location"]
            if (location === undefined) {
              return yield* refused(
                ReconnectPolicy.ConnectionEnd.HttpStatus({
                  status: response.status,
                  description: "redirect without Location"
                }),
                `${shown} answered ${response.status} without a Location`
              )
            }
            const parsed = URL.parse(location, url.href)
            if (parsed === null) {
              return yield* protocolError(
                slot,
                shown,
                "InvalidLocation",
                `it answered ${response.status} with a Location that is not a URL: ${JSON.stringify(RedactedUrl.redactUrl(location.slice(0, 200)))}`
              )
            }
            const next: URL = parsed
            const nextShown = RedactedUrl.redactUrl(next)
            if (url.protocol === "https:" && next.protocol !== "https:") {
              return yield* new RedirectRejected({
                reason: new InsecureRedirect({
                  from: shown,
                  location: nextShown,
                  message: `refusing a redirect from https to ${next.protocol.replace(":", "")} (${nextShown}): the token would travel in clear text`
                })
              })
            }
            if (!isTrustedHost(next.hostname, config.trustedRedirectHosts)) {
              return yield* new RedirectRejected({
                reason: new UntrustedHost({
                  from: shown,
                  location: nextShown,
                  message: `refusing a redirect to ${next.hostname}, which is not in trustedRedirectHosts (${config.trustedRedirectHosts.join(", ")}); the token was not sent there. If that host is Adobe's, add it to HITSTREAM_TRUSTED_REDIRECT_HOSTS`
                })
              })
            }
            yield* Effect.logDebug("following redirect", {
              from: shown,
              to: nextShown,
              status: response.status
            })
            url = next
            continue
          }
          if (response.status !== 200) {
            const description = yield* errorDescription(response)
            // A 429 or 503 may say when to come back; the policy honours it on top of its own delay.
            const retryAfterMillis = ReconnectPolicy.parseRetryAfter(
              response.headers["retry-after"],
              yield* Clock.currentTimeMillis
            )
            return yield* refused(
              ReconnectPolicy.ConnectionEnd.HttpStatus({
                status: response.status,
                description,
                retryAfterMillis
              }),
              `${shown} answered ${response.status}${description ? `: ${RedactedUrl.redactText(description)}` : ""}`
            )
          }
          const bytes = response.stream.pipe(
            Stream.mapError(
              (error) =>
                new ConnectionLost({ message: `the stream from ${url.host} broke: ${causeOf(error)}` })
            )
          )
          lastProtocolError.delete(slot)
          return { url: shown, bytes } satisfies ConnectionBody
        }
        const last = RedactedUrl.redactUrl(url)
        return yield* new RedirectRejected({
          reason: new TooManyRedirects({
            from: RedactedUrl.redactUrl(config.url),
            location: last,
            message: `more than ${maxHops} redirects, the last to ${last}: a redirect loop`
          })
        })
      })

      const enable = Effect.gen(function* () {
        const token = yield* tokens.get
        const url = enableUrl(config.url)
        const shown = RedactedUrl.redactUrl(url)
        const failure = (message: string, status?: number) =>
          new EnableError({ url: shown, status, message: RedactedUrl.redactText(message) })
        const response = yield* client
          .execute(HttpClientRequest.get(url).pipe(HttpClientRequest.setHeaders(headers(token))))
          .pipe(Effect.mapError((e) => failure(`cannot reach ${shown}: ${causeOf(e)}`)))
        const text = yield* response.text.pipe(Effect.orElseSucceed(() => ""))
        let message = text
        try {
          const body = JSON.parse(text)
          message = body.message ?? body.error_description ?? text
        } catch {
          // Not JSON: keep the text.
        }
        if (response.status !== 200) {
          return yield* failure(
            `enabling the stream failed with HTTP ${response.status}: ${message}`,
            response.status
          )
        }
        return message || "enabled; the new payloads arrive within 15 minutes"
      }).pipe(Effect.scoped, Effect.withSpan("Connection.enable"))

      return Connection.of({ open, enable })
    })
  )
