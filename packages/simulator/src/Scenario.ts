/**
 * Scripted faults: what the simulator does on each connection attempt.
 *
 * A scenario is a list of steps; step `k` applies to the `k`-th request to a stream endpoint
 * (counted per endpoint, rejected requests included). Once the steps run out, the simulator
 * behaves normally: 200 and a stream that goes on until the client leaves.
 *
 * ```yaml
 * steps:
 *   - { status: 200, after: 500, fault: drop }     # stream 500 hits, then drop the socket
 *   - { status: 503 }
 *   - { status: 409, description: "too many connections" }
 *   - { status: 302 }                              # redirect to the second listener
 *   - { status: 200, after: 100, fault: stall }    # then send nothing (for stallFor, or forever)
 *   - { status: 200, after: 50, fault: garbage }   # bytes that are not gzip
 *   - { status: 200, after: 50, fault: truncate }  # end the response mid-gzip
 *   - { status: 401 }
 *   - { status: 503, retryAfter: 30 }               # with Retry-After: seconds or an HTTP date
 * ims:                                               # the token endpoint's answers, in order
 *   - { status: 503, retryAfter: 2 }
 *   - { delay: 3000 }                                # a slow answer (then the normal one)
 *   - { fault: non-json }                            # 200 with an HTML body
 *   - { status: 400, error: invalid_scope }
 * ```
 *
 * @since 0.1.0
 */
import { Schema } from "effect"

/**
 * What a 200 stream does after `after` hits:
 *
 * - `drop`: closes the socket without ending the chunked body (a network loss);
 * - `end`: ends the body cleanly, gzip trailer and all (the server ended the stream);
 * - `stall`: keeps the connection open and sends nothing (for `stallFor`, or forever);
 * - `garbage`: sends bytes that are not gzip, then drops;
 * - `truncate`: ends the HTTP body cleanly in the middle of the gzip stream.
 *
 * @since 0.1.0
 */
export const Fault = Schema.Literals(["drop", "end", "stall", "garbage", "truncate"])

/**
 * @since 0.1.0
 */
export type Fault = typeof Fault.Type

/**
 * One connection attempt's script.
 *
 * @since 0.1.0
 */
export const Step = Schema.Struct({
  /** The status to answer with; 200 streams, 302 redirects to the second listener. */
  status: Schema.optionalKey(Schema.Int.check(Schema.isBetween({ minimum: 200, maximum: 599 }))),
  /** The `error_description` of an error body. */
  description: Schema.optionalKey(Schema.String),
  /** Hits to stream before the fault. */
  after: Schema.optionalKey(Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))),
  fault: Schema.optionalKey(Fault),
  /** How long a stall lasts, in milliseconds; forever when absent. */
  stallFor: Schema.optionalKey(Schema.Number.check(Schema.isGreaterThanOrEqualTo(0))),
  /** A `Retry-After` header on an error answer: seconds, or an HTTP date. */
  retryAfter: Schema.optionalKey(
    Schema.Union([Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)), Schema.String])
  )
})

/**
 * @since 0.1.0
 */
export type Step = typeof Step.Type

/**
 * One token request's script. Without `status` or `fault` the answer is the normal one (after
 * `delay`): a 5xx, a slow answer, a non-JSON 200 and a 400 `invalid_scope` are the faults a
 * client must survive or report.
 *
 * @since 0.1.0
 */
export const ImsStep = Schema.Struct({
  /** The status to answer with; its body is IMS-like `{ error, error_description }`. */
  status: Schema.optionalKey(Schema.Int.check(Schema.isBetween({ minimum: 200, maximum: 599 }))),
  /** The `error` of the body, e.g. `invalid_scope` (default: `server_error` for 5xx). */
  error: Schema.optionalKey(Schema.String),
  description: Schema.optionalKey(Schema.String),
  /** Milliseconds to wait before answering: a slow IMS. */
  delay: Schema.optionalKey(Schema.Number.check(Schema.isGreaterThanOrEqualTo(0))),
  /** `non-json`: a 200 whose body is an HTML page, as a proxy's error page would be. */
  fault: Schema.optionalKey(Schema.Literals(["non-json"])),
  retryAfter: Schema.optionalKey(
    Schema.Union([Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)), Schema.String])
  )
})

/**
 * @since 0.1.0
 */
export type ImsStep = typeof ImsStep.Type

/**
 * @since 0.1.0
 */
export const Scenario = Schema.Struct({
  steps: Schema.optionalKey(Schema.Array(Step)),
  ims: Schema.optionalKey(Schema.Array(ImsStep))
})

/**
 * @since 0.1.0
 */
export type Scenario = typeof Scenario.Type

/**
 * Reads a scenario from its JSON form (the CLI turns YAML into the same object first).
 *
 * @since 0.1.0
 */
export const decode = Schema.decodeUnknownEffect(Scenario)
