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
  stallFor: Schema.optionalKey(Schema.Number.check(Schema.isGreaterThanOrEqualTo(0)))
})

/**
 * @since 0.1.0
 */
export type Step = typeof Step.Type

/**
 * @since 0.1.0
 */
export const Scenario = Schema.Struct({
  steps: Schema.Array(Step)
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
