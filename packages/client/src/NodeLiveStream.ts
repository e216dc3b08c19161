/**
 * The Node wiring, in one place: the client's services over `@effect/platform-node`'s HTTP
 * client, with TCP keep-alive so that a dead peer is noticed without an idle timeout (a quiet
 * report suite legitimately sends nothing for long stretches).
 *
 * @since 0.1.0
 */
import { NodeFileSystem, NodeHttpClient, NodePath } from "@effect/platform-node"
import type { Config } from "@hitstream/core"
import { Layer } from "effect"
import { Connection } from "./Connection.ts"
import { ConnectionJournal } from "./ConnectionJournal.ts"
import { LiveStream } from "./LiveStream.ts"
import { LiveStreamConfig } from "./LiveStreamConfig.ts"
import { TokenProvider } from "./TokenProvider.ts"

/**
 * Node's HTTP/1.1 client with TCP keep-alive probes every 30 s.
 *
 * @since 0.1.0
 */
export const httpClient = NodeHttpClient.layerNodeHttpOptions({ keepAlive: true, keepAliveMsecs: 30_000 })

/**
 * Every client service (`LiveStream`, `Connection`, `TokenProvider`, `ConnectionJournal`,
 * `LiveStreamConfig`) from a configuration layer and, optionally, a journal.
 *
 * @since 0.1.0
 */
export const layerWith = <E, E2 = never>(
  config: Layer.Layer<LiveStreamConfig, E>,
  journal: Layer.Layer<ConnectionJournal, E2> = ConnectionJournal.layerMemory as Layer.Layer<
    ConnectionJournal,
    E2
  >
) => {
  const connection = Connection.layer.pipe(Layer.provideMerge(TokenProvider.layer), Layer.provide(httpClient))
  return LiveStream.layer.pipe(
    Layer.provideMerge(connection),
    Layer.provideMerge(journal),
    Layer.provideMerge(config)
  )
}

/**
 * From a configuration written in code, validated like the CLI's (`Config.decode`).
 *
 * @since 0.1.0
 */
export const layer = (config: Config.Input) => layerWith(LiveStreamConfig.layer(config))

/**
 * From the `HITSTREAM_*` environment variables.
 *
 * @since 0.1.0
 */
export const layerFromEnv = layerWith(LiveStreamConfig.layerFromEnv)

/**
 * A journal in files under `directory` (for restart-safe spacing), on Node's file system.
 *
 * @since 0.1.0
 */
export const fileJournal = (directory: string, key: string) =>
  ConnectionJournal.layerFile(directory, key).pipe(Layer.provide([NodeFileSystem.layer, NodePath.layer]))
