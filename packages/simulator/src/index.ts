/**
 * @hitstream/simulator: a Live Stream that runs on loopback.
 *
 * @since 0.1.0
 */

/**
 * @since 0.1.0
 */
export * as ByteWriter from "./ByteWriter.ts"

/**
 * @since 0.1.0
 */
export * as ConsumerGroup from "./ConsumerGroup.ts"

/**
 * @since 0.1.0
 */
export * as GroundTruth from "./GroundTruth.ts"

/**
 * @since 0.1.0
 */
export * as GzipBody from "./GzipBody.ts"

/**
 * @since 0.1.0
 */
export * as HitGenerator from "./HitGenerator.ts"

/**
 * @since 0.1.0
 */
export * as Ims from "./Ims.ts"

/**
 * @since 0.1.0
 */
export * as MemberCursor from "./MemberCursor.ts"

/**
 * @since 0.1.0
 */
export * as Scenario from "./Scenario.ts"

/**
 * @since 0.1.0
 */
export * as Simulator from "./Simulator.ts"

/**
 * @since 0.1.0
 */
export * as SimulatorCommand from "./SimulatorCommand.ts"

/**
 * @since 0.1.0
 */
export * as SimulatorOptions from "./SimulatorOptions.ts"

/**
 * @since 0.1.0
 */
export * as StreamModel from "./StreamModel.ts"

/**
 * @since 0.1.0
 */
export * as StreamWriter from "./StreamWriter.ts"

/**
 * @since 0.1.0
 */
export * as Traffic from "./Traffic.ts"

/**
 * @since 0.1.0
 */
export * as Tls from "./Tls.ts"
