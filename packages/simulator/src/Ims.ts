/**
 * An Adobe IMS stand-in: the client-credentials token endpoint, the tokens it issued, the check
 * of a stream request's credentials, and scripted faults (5xx, a slow answer, a non-JSON 200,
 * 400 `invalid_scope`, `Retry-After`).
 *
 * @since 0.1.0
 */
import { Clock, Effect } from "effect"
import { HttpServerRequest, HttpServerResponse } from "effect/http"
import { randomBytes } from "node:crypto"
import type * as Scenario from "./Scenario.ts"

/**
 * A token request, as the stand-in answered it.
 *
 * @since 0.1.0
 */
export interface TokenRequest {
  readonly at: number
  status: number
  readonly scripted: boolean
}

/**
 * @since 0.1.0
 */
export interface Ims {
  /** `POST /ims/token/v3` */
  readonly token: Effect.Effect<
    HttpServerResponse.HttpServerResponse,
    never,
    HttpServerRequest.HttpServerRequest
  >
  /** What is wrong with a request's `Authorization` and `x-api-key`, if anything. */
  readonly authorize: (
    headers: Readonly<Record<string, string | undefined>>
  ) => Effect.Effect<string | undefined>
  readonly revoke: Effect.Effect<number>
  /** Replaces the token endpoint's script; numbering restarts at the next request. */
  readonly setScenario: (steps: ReadonlyArray<Scenario.ImsStep>) => Effect.Effect<void>
  readonly requests: Effect.Effect<ReadonlyArray<TokenRequest>>
}

/**
 * An IMS-like error answer: `{ error, error_description }`, with `Retry-After` if given.
 *
 * @since 0.1.0
 */
export const errorBody = (status: number, error: string, description: string, retryAfter?: string | number) =>
  HttpServerResponse.jsonUnsafe(
    { error, error_description: description },
    { status, headers: retryAfter === undefined ? {} : { "retry-after": String(retryAfter) } }
  )

/**
 * @since 0.1.0
 */
export const make = (options: {
  readonly clientId: string
  readonly clientSecret: string
  readonly tokenLifetimeSeconds: number
  readonly scenario: ReadonlyArray<Scenario.ImsStep>
}): Ims => {
  const tokens = new Map<
    string,
    { readonly clientId: string; readonly expiresAt: number; revoked: boolean }
  >()
  const requests: Array<TokenRequest> = []
  let scenario = [...options.scenario]
  let base = 0

  const scripted = (step: Scenario.ImsStep) => {
    if (step.fault === "non-json") {
      return HttpServerResponse.text("<html><body><h1>Service temporarily unavailable</h1></body></html>", {
        status: step.status ?? 200,
        contentType: "text/html"
      })
    }
    const status = step.status!
    const error =
      step.error ??
      (status >= 500 ? "server_error" : status === 429 ? "too_many_requests" : "invalid_request")
    return errorBody(status, error, step.description ?? `scripted ${status} ${error}`, step.retryAfter)
  }

  const answer = Effect.gen(function* () {
    const request = yield* HttpServerRequest.HttpServerRequest
    if (request.method !== "POST") return errorBody(405, "method_not_allowed", "use POST")
    const text = yield* Effect.orElseSucceed(request.text, () => "")
    const form = new URLSearchParams(text)
    if (form.get("grant_type") !== "client_credentials") {
      return errorBody(400, "unsupported_grant_type", "grant_type must be client_credentials")
    }
    const clientId = form.get("client_id")
    if (!clientId) return errorBody(400, "invalid_request", "missing client_id")
    if (clientId !== options.clientId) return errorBody(400, "invalid_client", "invalid client_id parameter")
    if (form.get("client_secret") !== options.clientSecret) {
      return errorBody(401, "invalid_client", "invalid client_secret parameter")
    }
    const issuedAt = yield* Clock.currentTimeMillis
    const accessToken = `sim.${randomBytes(24).toString("base64url")}`
    tokens.set(accessToken, {
      clientId,
      expiresAt: issuedAt + options.tokenLifetimeSeconds * 1000,
      revoked: false
    })
    return HttpServerResponse.jsonUnsafe({
      access_token: accessToken,
      token_type: "bearer",
      expires_in: options.tokenLifetimeSeconds
    })
  })

  return {
    token: Effect.gen(function* () {
      const step = scenario[requests.length - base]
      const at = yield* Clock.currentTimeMillis
      const entry: TokenRequest = {
        at,
        status: 0,
        scripted: step?.status !== undefined || step?.fault !== undefined
      }
      requests.push(entry)
      if (step?.delay !== undefined) yield* Effect.sleep(step.delay)
      const response = entry.scripted ? scripted(step!) : yield* answer
      entry.status = response.status
      return response
    }),
    authorize: (headers) =>
      Effect.gen(function* () {
        const auth = headers["authorization"]
        if (!auth?.startsWith("Bearer ")) return "missing bearer token"
        const apiKey = headers["x-api-key"]
        if (!apiKey) return "missing x-api-key header"
        const state = tokens.get(auth.slice(7))
        if (state === undefined) return "invalid token"
        if (state.revoked) return "token revoked"
        if ((yield* Clock.currentTimeMillis) >= state.expiresAt) return "token expired"
        if (state.clientId !== apiKey) return "x-api-key does not match the token's client"
        return undefined
      }),
    revoke: Effect.sync(() => {
      for (const t of tokens.values()) t.revoked = true
      return tokens.size
    }),
    setScenario: (steps) =>
      Effect.sync(() => {
        scenario = [...steps]
        base = requests.length
      }),
    requests: Effect.sync(() => requests.map((r) => ({ ...r })))
  }
}
