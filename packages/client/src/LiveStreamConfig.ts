/**
 * The validated client configuration (`@hitstream/core` `Config.ClientConfig`) as a service, so
 * that every other service of the client reads the same one.
 *
 * @since 0.1.0
 */
import { Config } from "@hitstream/core"
import { Context, Effect, Layer } from "effect"
import { HttpClient } from "effect/http"

/**
 * @since 0.1.0
 */
export class LiveStreamConfig extends Context.Service<LiveStreamConfig, Config.ClientConfig>()(
  "@hitstream/client/LiveStreamConfig"
) {}

/**
 * A configuration written in code, validated by `Config.decode` exactly as the CLI validates
 * flags and variables: a bad value is a `ConfigError` naming the field, never a defect.
 *
 * @since 0.1.0
 */
export const layer = (input: Config.Input): Layer.Layer<LiveStreamConfig, Config.ConfigError> =>
  Layer.effect(LiveStreamConfig, Config.decode(input))

/**
 * An already validated configuration (from `Config.decode` or `Config.fromEnv`).
 *
 * @since 0.1.0
 */
export const layerValue = (config: Config.ClientConfig): Layer.Layer<LiveStreamConfig> =>
  Layer.succeed(LiveStreamConfig, config)

/**
 * The configuration from the `HITSTREAM_*` environment variables.
 *
 * @since 0.1.0
 */
export const layerFromEnv: Layer.Layer<LiveStreamConfig, Config.ConfigError> = Layer.effect(
  LiveStreamConfig,
  Effect.suspend(() => Config.fromEnv())
)

/**
 * The HTTP client as the configuration allows it: without trace headers (`traceparent`, `b3`)
 * unless `tracePropagation` is on. Effect's client sends them by default, which would tell
 * Adobe and IMS about the caller's traces; the span is still recorded locally.
 *
 * @since 0.1.0
 */
export const httpClient: Effect.Effect<
  HttpClient.HttpClient,
  never,
  LiveStreamConfig | HttpClient.HttpClient
> = Effect.gen(function* () {
  const config = yield* LiveStreamConfig
  const client = yield* HttpClient.HttpClient
  return config.tracePropagation
    ? client
    : HttpClient.transform(client, (response) =>
        Effect.provideService(response, HttpClient.TracerPropagationEnabled, false)
      )
})
