/**
 * Access tokens for Live Stream: Adobe IMS OAuth server-to-server (client credentials), or a
 * token given as is.
 *
 * IMS has no refresh token: a client asks for a new access token before the old one expires.
 * The provider caches the token and fetches a new one once 80% of its lifetime has passed, the
 * next time a connection needs one. A token is only needed to connect: a long-lived connection
 * is never touched by a refresh. One fetch is in flight at a time, shared by every slot.
 * `invalidate` makes the next `get` fetch, after the stream answered 401.
 *
 * The secret and the tokens are `Redacted` from end to end: they never appear in logs, errors
 * or spans.
 *
 * @since 0.1.0
 */
import { RedactedUrl } from "@hitstream/core"
import { Clock, Context, Duration, Effect, Layer, Redacted, Schedule, Schema, Semaphore } from "effect"
import { HttpClient, HttpClientRequest } from "effect/http"
import { httpClient as configuredHttpClient, LiveStreamConfig } from "./LiveStreamConfig.ts"
import * as Network from "./Network.ts"

const reasonFields = {
  /** The HTTP status IMS answered with, when it answered. */
  status: Schema.optional(Schema.Number),
  message: Schema.String
}

/**
 * IMS refused the client id, secret or scopes: fatal, the credentials need fixing.
 *
 * @since 0.1.0
 */
export class BadCredentials extends Schema.TaggedError<BadCredentials>()("BadCredentials", reasonFields) {}

/**
 * IMS could not be reached or answered 5xx, after retries: the stream retries later.
 *
 * @since 0.1.0
 */
export class ImsUnavailable extends Schema.TaggedError<ImsUnavailable>()("ImsUnavailable", reasonFields) {}

/**
 * IMS answered 200 with something that is not a token.
 *
 * @since 0.1.0
 */
export class InvalidResponse extends Schema.TaggedError<InvalidResponse>()("InvalidResponse", reasonFields) {}

/**
 * Why getting a token failed.
 *
 * @since 0.1.0
 */
export const AuthErrorReason = Schema.Union([BadCredentials, ImsUnavailable, InvalidResponse])

/**
 * @since 0.1.0
 */
export type AuthErrorReason = typeof AuthErrorReason.Type

/**
 * Getting a token failed; `reason` says why (`BadCredentials` is fatal, the others are retried
 * by the stream): match it with `Effect.catchReason("AuthError", "BadCredentials", ...)`.
 *
 * @since 0.1.0
 */
export class AuthError extends Schema.TaggedError<AuthError>()("AuthError", {
  reason: AuthErrorReason
}) {
  override get message(): string {
    return this.reason.message
  }
  /** Whether waiting cannot fix it: IMS refused the credentials. */
  get fatal(): boolean {
    return this.reason._tag === "BadCredentials"
  }
}

const TokenResponse = Schema.Struct({
  access_token: Schema.String,
  token_type: Schema.optionalKey(Schema.String),
  expires_in: Schema.Number
})

const ImsError = Schema.Struct({
  error: Schema.optionalKey(Schema.String),
  error_description: Schema.optionalKey(Schema.String)
})

/**
 * @since 0.1.0
 */
export class TokenProvider extends Context.Service<
  TokenProvider,
  {
    /** A valid token: the cached one, or a new one when it is missing, old or invalidated. */
    readonly get: Effect.Effect<Redacted.Redacted<string>, AuthError | Network.NetworkRejected>
    /** Forget the cached token: the next `get` fetches a new one. */
    readonly invalidate: Effect.Effect<void>
    /** How many tokens were fetched so far (for status and tests). */
    readonly fetches: Effect.Effect<number>
  }
>()("@hitstream/client/TokenProvider") {}

/**
 * Client credentials against `tokenUrl`, or the static token, as the configuration says.
 *
 * @since 0.1.0
 */
export const layer: Layer.Layer<TokenProvider, never, LiveStreamConfig | HttpClient.HttpClient> =
  Layer.effect(
    TokenProvider,
    Effect.gen(function* () {
      const config = yield* LiveStreamConfig
      const auth = config.auth
      if (auth._tag === "StaticToken") {
        return TokenProvider.of({
          get: Effect.succeed(auth.accessToken),
          invalidate: Effect.void,
          fetches: Effect.succeed(0)
        })
      }
      const client = yield* configuredHttpClient
      const lock = yield* Semaphore.make(1)
      let cached: { token: Redacted.Redacted<string>; refreshAt: number } | undefined
      let fetches = 0

      const reasons = { BadCredentials, ImsUnavailable, InvalidResponse }
      const failure = (reason: AuthErrorReason["_tag"], message: string, status?: number) =>
        new AuthError({ reason: new reasons[reason]({ message: RedactedUrl.redactText(message), status }) })

      const fetchOnce = Effect.gen(function* () {
        const request = HttpClientRequest.post(auth.tokenUrl).pipe(
          HttpClientRequest.bodyUrlParams({
            grant_type: "client_credentials",
            client_id: config.clientId,
            client_secret: Redacted.value(auth.clientSecret),
            scope: auth.scopes.join(",")
          }),
          HttpClientRequest.acceptJson
        )
        const response = yield* client.execute(request).pipe(
          // A certificate that does not verify, or a proxy that refuses, is fatal: the handshake
          // failed before the secret was sent, and waiting cannot fix it.
          Effect.mapError((e) => {
            const failed = Network.classify(e, auth.tokenUrl, "The client secret")
            return failed?._tag === "Rejected"
              ? failed.error
              : failure(
                  "ImsUnavailable",
                  `cannot reach IMS at ${auth.tokenUrl}: ${failed?.message ?? e.reason._tag}`
                )
          }),
          Effect.scoped
        )
        const body = yield* response.json.pipe(Effect.orElseSucceed(() => undefined))
        if (response.status >= 500) {
          return yield* failure(
            "ImsUnavailable",
            `IMS at ${auth.tokenUrl} answered ${response.status}`,
            response.status
          )
        }
        if (response.status !== 200) {
          const error = Schema.decodeUnknownOption(ImsError)(body)
          const detail =
            error._tag === "Some"
              ? [error.value.error, error.value.error_description].filter(Boolean).join(": ")
              : ""
          return yield* failure(
            "BadCredentials",
            `IMS refused the credentials (HTTP ${response.status}${detail ? `, ${detail}` : ""}): check HITSTREAM_CLIENT_ID, the client secret and the scopes against the Developer Console project's OAuth Server-to-Server credential`,
            response.status
          )
        }
        const token = yield* Schema.decodeUnknownEffect(TokenResponse)(body).pipe(
          Effect.mapError(() =>
            failure("InvalidResponse", `IMS at ${auth.tokenUrl} answered 200 without an access_token`)
          )
        )
        return token
      }).pipe(
        // IMS outages are usually short: retry with backoff, then let the reconnect policy space
        // the next try. Credentials that IMS refused are not retried.
        Effect.retry({
          schedule: Schedule.exponential(Duration.seconds(1), 2).pipe(Schedule.upTo({ times: 6 })),
          while: (e) => e._tag === "AuthError" && e.reason._tag === "ImsUnavailable"
        })
      )

      const refresh = Effect.gen(function* () {
        const token = yield* fetchOnce
        const now = yield* Clock.currentTimeMillis
        fetches++
        cached = {
          token: Redacted.make(token.access_token, { label: "access_token" }),
          refreshAt: now + token.expires_in * 1000 * 0.8
        }
        yield* Effect.logDebug("fetched a new access token", { expiresIn: token.expires_in })
        return cached.token
      }).pipe(Effect.withSpan("TokenProvider.refresh"))

      const get = lock.withPermits(1)(
        Effect.gen(function* () {
          const now = yield* Clock.currentTimeMillis
          if (cached !== undefined && now < cached.refreshAt) return cached.token
          return yield* refresh
        })
      )

      return TokenProvider.of({
        get,
        invalidate: Effect.sync(() => {
          cached = undefined
        }),
        fetches: Effect.sync(() => fetches)
      })
    })
  )
