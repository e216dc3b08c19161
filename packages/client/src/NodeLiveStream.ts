/**
 * The Node wiring, in one place: the client's services over `@effect/platform-node`'s HTTP
 * client, with TCP keep-alive so that a dead peer is noticed without an idle timeout (a quiet
 * report suite legitimately sends nothing for long stretches).
 *
 * @since 0.1.0
 */
import { NodeFileSystem, NodeHttpClient, NodePath } from "@effect/platform-node"
import type { Config } from "@hitstream/core"
import { Effect, Layer } from "effect"
import type { HttpClient } from "effect/http"
import * as Connection from "./Connection.ts"
import * as ConnectionJournal from "./ConnectionJournal.ts"
import * as LiveStream from "./LiveStream.ts"
import * as LiveStreamConfig from "./LiveStreamConfig.ts"
import * as NodeHeap from "./NodeHeap.ts"
import * as TokenProvider from "./TokenProvider.ts"

/**
 * Node's HTTP/1.1 client with TCP keep-alive probes every 30 s.
 *
 * @since 0.1.0
 */
export const httpClient: Layer.Layer<HttpClient.HttpClient> = NodeHttpClient.layerNodeHttpOptions({
  keepAlive: true,
  keepAliveMsecs: 30_000
})

/**
 * Every service of the client: `LiveStream` and the parts it is built from, for a program that
 * also uses one of them (`Connection.enable`, `TokenProvider.fetches`, the configuration).
 *
 * @since 0.1.0
 */
export type Parts =
  | LiveStream.LiveStream
  | Connection.Connection
  | TokenProvider.TokenProvider
  | ConnectionJournal.ConnectionJournal
  | LiveStreamConfig.LiveStreamConfig

/**
 * Every client service (see `Parts`) from a configuration layer and, optionally, a journal (by
 * default in memory; `fileJournal` keeps the spacing across restarts).
 *
 * @since 0.1.0
 */
export const layerParts = <E, R, E2 = never, R2 = never>(
  config: Layer.Layer<LiveStreamConfig.LiveStreamConfig, E, R>,
  journal?: Layer.Layer<ConnectionJournal.ConnectionJournal, E2, R2>
): Layer.Layer<Parts, E | E2, R | R2> => {
  const connection = Connection.layer.pipe(Layer.provideMerge(TokenProvider.layer), Layer.provide(httpClient))
  return LiveStream.layer.pipe(
    Layer.provideMerge(connection),
    Layer.provideMerge(journal ?? ConnectionJournal.layerMemory),
    Layer.provideMerge(config)
  )
}

/**
 * `LiveStream` alone, from a configuration layer and, optionally, a journal.
 *
 * @since 0.1.0
 */
export const layerWith = <E, R, E2 = never, R2 = never>(
  config: Layer.Layer<LiveStreamConfig.LiveStreamConfig, E, R>,
  journal?: Layer.Layer<ConnectionJournal.ConnectionJournal, E2, R2>
): Layer.Layer<LiveStream.LiveStream, E | E2, R | R2> =>
  Layer.effect(LiveStream.LiveStream, Effect.service(LiveStream.LiveStream)).pipe(
    Layer.provide(layerParts(config, journal))
  )

/**
 * `LiveStream` from a configuration written in code, validated like the CLI's (`Config.decode`):
 * a bad value fails the layer with a `ConfigError` naming the field.
 *
 * @since 0.1.0
 */
export const layer = (input: Config.Input): Layer.Layer<LiveStream.LiveStream, Config.ConfigError> =>
  layerWith(LiveStreamConfig.layer(input))

/**
 * `LiveStream` from the `HITSTREAM_*` environment variables (see docs/cli.md for each one).
 *
 * @since 0.1.0
 */
export const layerFromEnv: Layer.Layer<LiveStream.LiveStream, Config.ConfigError> = layerWith(
  LiveStreamConfig.layerFromEnv
)

/**
 * A journal in files under `directory` (for restart-safe spacing), on Node's file system.
 *
 * @since 0.1.0
 */
export const fileJournal = (directory: string, key: string) =>
  ConnectionJournal.layerFile(directory, key).pipe(Layer.provide([NodeFileSystem.layer, NodePath.layer]))
