/**
 * One connection to a NATS cluster, shared by the sink, the leases and the journal: where it
 * goes (`nats://` or `tls://` URLs naming one or more servers), how it authenticates (a creds
 * file or a user and password, always `Redacted`, never in a URL or a flag), and how it reports
 * broker losses (a log line and a counter on every disconnect and reconnect).
 *
 * The client reconnects on its own, forever, across the cluster's servers; what was published
 * while it was away is retried by the sink.
 *
 * @since 0.1.0
 */
import { type JetStreamClient, type JetStreamManager, jetstream, jetstreamManager } from "@nats-io/jetstream"
import {
  type Authenticator,
  type ConnectionOptions,
  connect,
  credsAuthenticator,
  type NatsConnection,
  usernamePasswordAuthenticator
} from "@nats-io/transport-node"
import { Context, Duration, Effect, Layer, Metric, Redacted, Schedule, Schema, Stream } from "effect"

/**
 * Where to connect: the servers, TLS or not, the path after the servers (a stream or bucket
 * name) and the query parameters.
 *
 * @since 0.1.0
 */
export interface NatsUrl {
  readonly tls: boolean
  /** `host:port` each. */
  readonly servers: ReadonlyArray<string>
  /** The path without its leading slash; empty when absent. */
  readonly path: string
  readonly params: Readonly<Record<string, string>>
  /** As given (it never holds secrets: URLs with userinfo are refused). */
  readonly text: string
}

/**
 * A NATS setting is wrong: says which, what was given, and what is valid.
 *
 * @since 0.1.0
 */
export class NatsConfigError extends Schema.TaggedError<NatsConfigError>()("NatsConfigError", {
  field: Schema.String,
  message: Schema.String
}) {}

/**
 * NATS cannot be reached or refused us (authentication, permissions).
 *
 * @since 0.1.0
 */
export class NatsConnectError extends Schema.TaggedError<NatsConnectError>()("NatsConnectError", {
  servers: Schema.String,
  message: Schema.String
}) {}

const urlPattern = /^(nats|tls):\/\/([^/?#]*)(?:\/([^?#]*))?(?:\?([^#]*))?$/

/**
 * Parses `nats://HOST:PORT[,HOST:PORT...][/PATH][?k=v&...]` (or `tls://`). `field` names the
 * setting in errors (`sink`, `fleet`).
 *
 * @since 0.1.0
 */
export const parseUrl = (field: string, text: string): Effect.Effect<NatsUrl, NatsConfigError> => {
  const fail = (why: string) =>
    Effect.fail(
      new NatsConfigError({
        field,
        message: `--${field} ${why}; write it like nats://HOST:PORT[,HOST:PORT...]/NAME (tls:// for TLS)`
      })
    )
  const match = urlPattern.exec(text.trim())
  if (match === null) return fail(`is not a nats:// or tls:// URL`)
  const [, scheme, hosts, path = "", query = ""] = match
  // Only the host part is inspected: it is what could carry a password.
  if (hosts.includes("@")) {
    return fail(
      "has a user or password in it, which would show in `ps` and logs; put credentials in HITSTREAM_NATS_CREDS (a creds file), --nats-creds-file, or HITSTREAM_NATS_USER and HITSTREAM_NATS_PASSWORD"
    )
  }
  const servers = hosts.split(",").map((s) => s.trim())
  for (const server of servers) {
    if (!/^[A-Za-z0-9.\-[\]:]+:\d{1,5}$/.test(server) && !/^[A-Za-z0-9.-]+$/.test(server)) {
      return fail(`has a server ${JSON.stringify(server)} that is not HOST or HOST:PORT`)
    }
  }
  const params: Record<string, string> = {}
  for (const [k, v] of new URLSearchParams(query)) params[k] = v
  return Effect.succeed({ tls: scheme === "tls", servers, path: decodeURIComponent(path), params, text })
}

/**
 * How to authenticate. The secrets are `Redacted`: they print as `<redacted>` anywhere.
 *
 * @since 0.1.0
 */
export type Credentials =
  | { readonly _tag: "None" }
  | { readonly _tag: "Creds"; readonly creds: Redacted.Redacted<Uint8Array> }
  | {
      readonly _tag: "UserPassword"
      readonly user: string
      readonly password: Redacted.Redacted<string>
    }

/**
 * @since 0.1.0
 */
export interface Options {
  readonly url: NatsUrl
  readonly credentials: Credentials
  /** Shown in the server's connection list. */
  readonly name?: string
}

/**
 * Whether a NATS error may pass on its own: a timeout, no responders (a stream or the JetStream
 * API without a leader for a moment), a lost connection.
 *
 * @since 0.1.0
 */
export const isTransient = (e: unknown): boolean =>
  /timeout|timed out|no responders|503|not available|leader|disconnect|connection closed|reconnect/i.test(
    (e as { message?: string })?.message ?? ""
  )

/**
 * Retries transient failures every half second for up to 30 s (a cluster starting, or electing
 * a leader); other failures at once.
 *
 * @since 0.1.0
 */
export const retryTransient = <A, E extends { readonly message: string }, R>(
  effect: Effect.Effect<A, E, R>
): Effect.Effect<A, E, R> =>
  effect.pipe(
    Effect.tapError((e) =>
      isTransient(e) ? Effect.logInfo(`NATS not ready (${e.message}); retrying`) : Effect.void
    ),
    Effect.retry({
      while: (e) => isTransient(e),
      schedule: Schedule.spaced(Duration.millis(500)).pipe(Schedule.upTo({ duration: Duration.seconds(30) }))
    })
  )

/**
 * @since 0.1.0
 */
export const metrics = {
  disconnects: Metric.counter("hitstream_nats_disconnects_total", {
    description: "Times the connection to a NATS server was lost"
  }),
  reconnects: Metric.counter("hitstream_nats_reconnects_total", {
    description: "Times the client reconnected to a NATS server after a loss"
  })
}

/**
 * @since 0.1.0
 */
export class NatsClient extends Context.Service<
  NatsClient,
  {
    readonly connection: NatsConnection
    readonly jetstream: JetStreamClient
    readonly manager: JetStreamManager
    readonly url: NatsUrl
    /** Broker reconnects since start, for the status line. */
    readonly reconnects: () => number
    /** Whether the client is connected right now. */
    readonly connected: () => boolean
  }
>()("@hitstream/nats/NatsClient") {}

/**
 * Connects in the layer's scope; on release, drains (pending publishes go out) and closes.
 *
 * @since 0.1.0
 */
export const layer = (options: Options): Layer.Layer<NatsClient, NatsConnectError> =>
  Layer.effect(NatsClient, make(options))

const authenticator = (credentials: Credentials): Authenticator | undefined => {
  switch (credentials._tag) {
    case "None":
      return undefined
    case "Creds":
      return credsAuthenticator(() => Redacted.value(credentials.creds))
    case "UserPassword":
      return usernamePasswordAuthenticator(credentials.user, () => Redacted.value(credentials.password))
  }
}

const make = Effect.fn("NatsClient.make")(function* (options: Options) {
  const servers = options.url.servers.join(",")
  const auth = authenticator(options.credentials)
  const connectOptions: ConnectionOptions = {
    servers: [...options.url.servers],
    name: options.name ?? "hitstream",
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
    reconnectJitter: 100,
    pingInterval: 5_000,
    maxPingOut: 3,
    ...(options.url.tls ? { tls: {} } : {}),
    ...(auth !== undefined ? { authenticator: auth } : {})
  }
  const connection = yield* Effect.acquireRelease(
    Effect.tryPromise({
      try: () => connect(connectOptions),
      catch: (e) =>
        new NatsConnectError({
          servers,
          message: `cannot connect to NATS at ${servers}: ${(e as Error).message}`
        })
    }),
    (nc) =>
      Effect.promise(() =>
        nc
          .drain()
          .catch(() => nc.close())
          .catch(() => undefined)
      ).pipe(Effect.timeout("10 seconds"), Effect.ignore)
  )
  let reconnects = 0
  let connected = true
  // Shown as 0 from the start, not only after the first loss.
  yield* Metric.update(metrics.disconnects, 0)
  yield* Metric.update(metrics.reconnects, 0)
  yield* Effect.forkScoped(
    Stream.fromAsyncIterable(connection.status(), (e) => e).pipe(
      Stream.runForEach((status) => {
        if (status.type === "disconnect") {
          connected = false
          return Effect.logWarning(`lost the connection to NATS server ${status.server}; reconnecting`).pipe(
            Effect.andThen(Metric.update(metrics.disconnects, 1))
          )
        }
        if (status.type === "reconnect") {
          connected = true
          reconnects++
          return Effect.logInfo(`reconnected to NATS server ${status.server}`).pipe(
            Effect.andThen(Metric.update(metrics.reconnects, 1))
          )
        }
        return Effect.void
      }),
      Effect.ignore
    )
  )
  // A cluster that is starting, or electing its JetStream leader, answers late: waited out.
  const manager = yield* Effect.tryPromise({
    try: () => jetstreamManager(connection, { timeout: 5_000 }),
    catch: (e) =>
      new NatsConnectError({
        servers,
        message: `NATS at ${servers} has no JetStream (start nats-server with -js, and in a cluster give it time to elect a leader): ${(e as Error).message}`
      })
  }).pipe(retryTransient)
  return NatsClient.of({
    connection,
    jetstream: jetstream(connection, { timeout: 5_000 }),
    manager,
    url: options.url,
    reconnects: () => reconnects,
    connected: () => connected
  })
})
