/**
 * The Node wiring, in one place: the client's services over `@effect/platform-node`'s HTTP
 * client, with TCP keep-alive so that a dead peer is noticed without an idle timeout (a quiet
 * report suite legitimately sends nothing for long stretches).
 *
 * @since 0.1.0
 */
import { NodeFileSystem, NodePath } from "@effect/platform-node"
import type { Config } from "@hitstream/core"
import { Effect, Layer } from "effect"
import type { HttpClient } from "effect/http"
import * as Connection from "./Connection.ts"
import * as ConnectionJournal from "./ConnectionJournal.ts"
import * as LiveStream from "./LiveStream.ts"
import * as LiveStreamConfig from "./LiveStreamConfig.ts"
import * as Network from "./Network.ts"
import * as NodeHeap from "./NodeHeap.ts"
import * as TokenProvider from "./TokenProvider.ts"

/**
 * Node's HTTP/1.1 client with TCP keep-alive probes every 30 s, Node's CAs, and the proxy that
 * `HTTPS_PROXY`/`HTTP_PROXY`/`NO_PROXY` name (`Network.layer` for extra CAs or a given proxy).
 *
 * @since 0.1.0
 */
export const httpClient: Layer.Layer<HttpClient.HttpClient, Network.NetworkSettingsError> = Network.layer()

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
 * default in memory; `fileJournal` keeps the spacing across restarts) and an HTTP client (by
 * default `httpClient`; `Network.layer({ caFiles, proxy })` for a company CA or a proxy).
 *
 * @since 0.1.0
 */
export const layerParts = <E, R, E2 = never, R2 = never, E3 = Network.NetworkSettingsError, R3 = never>(
  config: Layer.Layer<LiveStreamConfig.LiveStreamConfig, E, R>,
  journal?: Layer.Layer<ConnectionJournal.ConnectionJournal, E2, R2>,
  network?: Layer.Layer<HttpClient.HttpClient, E3, R3>
): Layer.Layer<Parts, E | E2 | E3, R | R2 | R3> => {
  const connection = Connection.layer.pipe(
    Layer.provideMerge(TokenProvider.layer),
    Layer.provide(network ?? (httpClient as unknown as Layer.Layer<HttpClient.HttpClient, E3, R3>))
  )
  return LiveStream.layer.pipe(
    Layer.provideMerge(connection),
    Layer.provideMerge(journal ?? ConnectionJournal.layerMemory),
    Layer.provideMerge(config)
  )
}

/**
 * `LiveStream` alone, from a configuration layer and, optionally, a journal and an HTTP client.
 *
 * @since 0.1.0
 */
export const layerWith = <E, R, E2 = never, R2 = never, E3 = Network.NetworkSettingsError, R3 = never>(
  config: Layer.Layer<LiveStreamConfig.LiveStreamConfig, E, R>,
  journal?: Layer.Layer<ConnectionJournal.ConnectionJournal, E2, R2>,
  network?: Layer.Layer<HttpClient.HttpClient, E3, R3>
): Layer.Layer<LiveStream.LiveStream, E | E2 | E3, R | R2 | R3> =>
  Layer.effect(LiveStream.LiveStream, Effect.service(LiveStream.LiveStream)).pipe(
    Layer.provide(layerParts(config, journal, network))
  )

/**
 * `LiveStream` from a configuration written in code, validated like the CLI's (`Config.decode`):
 * a bad value fails the layer with a `ConfigError` naming the field. `network` adds CAs
 * (`caFiles`, `ca`) or sets a proxy (`proxy`); a bad one is a `NetworkSettingsError`.
 *
 * @since 0.1.0
 */
export const layer = (
  input: Config.Input,
  network: Network.Options = {}
): Layer.Layer<LiveStream.LiveStream, Config.ConfigError | Network.NetworkSettingsError> =>
  layerWith(LiveStreamConfig.layer(input), undefined, Network.layer(network))

/**
 * `LiveStream` from the `HITSTREAM_*` environment variables (see docs/cli.md for each one),
 * `HITSTREAM_CA_FILE` and `HITSTREAM_PROXY` included.
 *
 * @since 0.1.0
 */
export const layerFromEnv: Layer.Layer<
  LiveStream.LiveStream,
  Config.ConfigError | Network.NetworkSettingsError
> = layerWith(LiveStreamConfig.layerFromEnv, undefined, Network.layerFromEnv)

/**
 * A journal in files under `directory` (for restart-safe spacing), on Node's file system.
 *
 * @since 0.1.0
 */
export const fileJournal = (directory: string, key: string) =>
  ConnectionJournal.layerFile(directory, key).pipe(Layer.provide([NodeFileSystem.layer, NodePath.layer]))

/**
 * Keeps V8's heap near what the process holds (see `NodeHeap.compactHeap`).
 *
 * @since 0.1.0
 */
export const compactHeap = NodeHeap.compactHeap
