/**
 * The simulator's statement of the vendor's rules, as pure code: no sockets, no clock (time is
 * an argument), no randomness (drawn by the caller). The simulator keeps its own statement on
 * purpose: it is the oracle the client is checked against, so it must not borrow the client's.
 *
 * Here: the query checks and `admit`, the vendor's checks in the vendor's order; the consumer
 * group (membership, partitions, the grace period, start positions) is in `ConsumerGroup`,
 * re-exported.
 *
 * @since 0.1.0
 */
import { type Group, inGroup } from "./ConsumerGroup.ts"
import type * as Scenario from "./Scenario.ts"

/**
 * @since 0.1.0
 */
export * from "./ConsumerGroup.ts"

/**
 * @since 0.1.0
 */
export type Reset = "smallest" | "largest"

/**
 * A stream request's query, checked.
 *
 * @since 0.1.0
 */
export interface Query {
  readonly maxConnections: number
  readonly reset: Reset | undefined
  readonly smoothing: boolean
  /** Seconds; 270 unless given. */
  readonly smoothingBucketSize: number
}

const integerIn = (value: string, min: number, max: number) =>
  /^\d+$/.test(value) && Number(value) >= min && Number(value) <= max

/**
 * The query parameters' checks: a `Query`, or the 400's description naming the parameter.
 *
 * @since 0.1.0
 */
export const checkQuery = (query: Readonly<Record<string, string>>): Query | string => {
  const max = query.maxConnections ?? "1"
  if (!integerIn(max, 1, 8))
    return `maxConnections must be an integer from 1 to 8, got ${JSON.stringify(max)}`
  const r = query.reset
  const reset =
    r === undefined
      ? undefined
      : r === "smallest" || r === "earliest"
        ? "smallest"
        : r === "largest" || r === "latest"
          ? "largest"
          : null
  if (reset === null) return `reset must be smallest, largest, earliest or latest, got ${JSON.stringify(r)}`
  if (query.smoothing !== undefined && query.smoothing !== "1" && query.smoothing !== "0") {
    return `smoothing must be 1, got ${JSON.stringify(query.smoothing)}`
  }
  const bucket = query.smoothingBucketSize
  if (bucket !== undefined && !integerIn(bucket, 1, 7200)) {
    return `smoothingBucketSize must be an integer from 1 to 7200, got ${JSON.stringify(bucket)}`
  }
  return {
    maxConnections: Number(max),
    reset,
    smoothing: query.smoothing === "1",
    smoothingBucketSize: bucket === undefined ? 270 : Number(bucket)
  }
}

/**
 * A stream request, as far as the vendor's checks look at it.
 *
 * @since 0.1.0
 */
export interface Request {
  readonly method: string
  readonly acceptEncoding: string
  readonly httpVersion: string
  readonly listener: "main" | "redirect"
  readonly authorization: boolean
  /** What the token check found wrong, if anything. */
  readonly authError: string | undefined
  readonly endpoint: string
  readonly apiVersion: 1 | 2
  readonly query: Readonly<Record<string, string>>
  /** This attempt's scripted step, if any. */
  readonly step: Scenario.Step | undefined
}

/**
 * @since 0.1.0
 */
export interface State {
  readonly at: number
  readonly gracePeriod: number
  /** The endpoint asked for, if it exists. */
  readonly endpoint:
    | { readonly disabled: boolean; readonly v2Enabled: boolean; readonly group: Group }
    | undefined
  readonly redirect: "never" | "first" | "always"
  readonly redirectedOnce: boolean
  /** No traffic, answered as the older docs say: 503 at connect. */
  readonly noTraffic503: boolean
  /** A capacity refusal while a ghost counts answers 503 rather than 409 (drawn by the caller). */
  readonly busy503: boolean
}

/**
 * @since 0.1.0
 */
export type Decision =
  | {
      readonly _tag: "Reject"
      readonly status: number
      readonly error: string
      readonly description: string
      readonly retryAfter?: string | undefined
    }
  | { readonly _tag: "Redirect" }
  | { readonly _tag: "Accept"; readonly query: Query }

const reject = (status: number, error: string, description: string, retryAfter?: string): Decision => ({
  _tag: "Reject",
  status,
  error,
  description,
  retryAfter
})

/**
 * The vendor's checks, in the vendor's order: method (405), `Accept-Encoding` (406), HTTP/1.1
 * (505), credentials (401), endpoint (404), API version (424), query (400), scripted statuses,
 * redirect (302), `maxConnections` agreement and capacity (409, or 503), no traffic (503).
 *
 * @since 0.1.0
 */
export const admit = (request: Request, state: State): Decision => {
  const { step } = request
  if (request.method !== "GET") return reject(405, "method_not_allowed", "Live Stream accepts GET only")
  if (!/(^|[\s,])gzip\b/i.test(request.acceptEncoding)) {
    return reject(406, "not_acceptable", "Accept-Encoding must include gzip")
  }
  if (request.httpVersion !== "1.1") {
    return reject(505, "http_version_not_supported", "Live Stream accepts HTTP/1.1 only")
  }
  if (request.listener === "redirect" && !request.authorization) {
    return reject(401, "invalid_token", "the redirect target needs Authorization again")
  }
  if (request.authError !== undefined) return reject(401, "invalid_token", request.authError)
  if (step?.status === 401) return reject(401, "invalid_token", step.description ?? "scripted 401")
  const endpoint = state.endpoint
  if (endpoint === undefined) return reject(404, "not_found", `unknown endpoint ${request.endpoint}`)
  if (endpoint.disabled) {
    return reject(404, "not_found", `stream ${request.endpoint} was disabled after 90 days without a client`)
  }
  if (request.apiVersion === 2 && !endpoint.v2Enabled) {
    return reject(
      424,
      "failed_dependency",
      `stream ${request.endpoint} is not enabled for the current API version; GET /api/2/enable/${request.endpoint} to enable it`
    )
  }
  const query = checkQuery(request.query)
  if (typeof query === "string") return reject(400, "bad_request", query)
  if (step?.status !== undefined && step.status !== 200 && step.status !== 302) {
    return reject(
      step.status,
      "scripted",
      step.description ?? `scripted ${step.status}`,
      step.retryAfter === undefined ? undefined : String(step.retryAfter)
    )
  }
  if (
    request.listener === "main" &&
    (step?.status === 302 ||
      state.redirect === "always" ||
      (state.redirect === "first" && !state.redirectedOnce))
  ) {
    return { _tag: "Redirect" }
  }
  const group = endpoint.group
  const members = group.members.filter((m) => inGroup(m, state.at, state.gracePeriod))
  if (
    members.length > 0 &&
    group.maxConnections !== undefined &&
    group.maxConnections !== query.maxConnections
  ) {
    return reject(
      409,
      "conflict",
      `clients disagree on maxConnections: ${group.maxConnections} is in use, this client sent ${query.maxConnections}`
    )
  }
  if (members.length >= query.maxConnections) {
    const ghosts = members.some((m) => m.closedAt !== undefined)
    if (ghosts && state.busy503) return reject(503, "service_unavailable", "stream busy, retry later")
    return reject(
      409,
      "conflict",
      `more clients than maxConnections=${query.maxConnections}` +
        (ghosts ? " (a recently dropped connection still counts as open)" : "")
    )
  }
  if (state.noTraffic503)
    return reject(503, "service_unavailable", `no hits arriving for endpoint ${request.endpoint}`)
  return { _tag: "Accept", query }
}
