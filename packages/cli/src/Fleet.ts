/**
 * `hitstream run --fleet nats://… --sink nats://…`: the program's wiring of `@hitstream/nats`.
 *
 * - `--sink nats://HOST:PORT[,…]/STREAM[?subjectPrefix=hits&replicas=3]` publishes every hit to a
 *   JetStream stream instead of stdout or a file.
 * - `--fleet nats://HOST:PORT[,…][/BUCKET][?replicas=3&ttl=15s]` shares the stream's slots with
 *   the other processes of the fleet through leases in a KV bucket: this process runs a loop for
 *   each of the `maxConnections` slots and opens a slot's connection only while it holds its lease
 *   (so `--connections` does not apply), and the 60-second rule is kept in the bucket.
 *
 * Credentials come from a creds file (`--nats-creds-file` or `HITSTREAM_NATS_CREDS`) or from
 * `HITSTREAM_NATS_USER` and `HITSTREAM_NATS_PASSWORD`, never from a flag or a URL; `tls://` URLs
 * use TLS. One NATS connection serves the sink, the leases and the journal when both point at the
 * same servers.
 *
 * @since 0.1.0
 */
import { ConnectionJournal } from "@hitstream/client"
import { Config } from "@hitstream/core"
import { FleetBucket, FleetJournal, JetStreamSink, NatsClient, SlotLeases } from "@hitstream/nats"
import { Duration, Effect, Layer, Metric, Option, Redacted, Schedule } from "effect"
import { readFile } from "node:fs/promises"
import { hostname } from "node:os"
import { flagName, named, SettingsError } from "./Settings.ts"
import { type Sink as SinkShape, SinkError } from "./Sink.ts"

/**
 * What the settings ask of NATS.
 *
 * @since 0.1.0
 */
export interface Options {
  /** `--sink` when it is a `nats://` or `tls://` URL. */
  readonly sink: string | undefined
  /** `--fleet` */
  readonly fleet: string | undefined
  /** `--nats-creds-file`; otherwise `HITSTREAM_NATS_CREDS`. */
  readonly credsFile: string | undefined
  readonly env: Record<string, string | undefined>
}

/**
 * Whether a `--sink` value names NATS.
 *
 * @since 0.1.0
 */
export const isNatsUrl = (text: string) => /^(nats|tls):\/\//.test(text)

const parseDuration = (text: string) => Option.getOrUndefined(Config.parseDuration(text))

// `--sink …` -> `--sink (or HITSTREAM_SINK) …`, as the program's other settings errors read.
const settingsError = (e: { readonly field: string; readonly message: string }) => {
  const flag = `--${flagName(e.field)}`
  const message = e.message.startsWith(flag) ? named(e.field) + e.message.slice(flag.length) : e.message
  return new SettingsError({ field: e.field, message })
}

/**
 * The credentials, read now (a missing file is a settings error naming the flag).
 *
 * @since 0.1.0
 */
export const credentials = (options: Options) =>
  Effect.gen(function* () {
    const path = options.credsFile ?? (options.env.HITSTREAM_NATS_CREDS || undefined)
    if (path !== undefined) {
      const bytes = yield* Effect.tryPromise({
        try: () => readFile(path),
        catch: (e) =>
          new SettingsError({
            field: "natsCredsFile",
            message: `cannot read the NATS creds file ${path} (--nats-creds-file or HITSTREAM_NATS_CREDS): ${(e as Error).message}`
          })
      })
      return { _tag: "Creds", creds: Redacted.make(new Uint8Array(bytes)) } as NatsClient.Credentials
    }
    const user = options.env.HITSTREAM_NATS_USER || undefined
    const password = options.env.HITSTREAM_NATS_PASSWORD || undefined
    if (user !== undefined && password !== undefined)
      return { _tag: "UserPassword", user, password: Redacted.make(password) } as NatsClient.Credentials
    if (user !== undefined || password !== undefined) {
      return yield* new SettingsError({
        field: "natsCredsFile",
        message: "HITSTREAM_NATS_USER and HITSTREAM_NATS_PASSWORD go together: set both, or neither"
      })
    }
    return { _tag: "None" } as NatsClient.Credentials
  })

const processId = () => {
  const host =
    hostname()
      .replace(/[^A-Za-z0-9_-]+/g, "_")
      .slice(0, 40) || "host"
  return `${host}-${process.pid}-${Math.floor(Math.random() * 0x10000)
    .toString(16)
    .padStart(4, "0")}`
}

// A summary line when the picture changes, and once a minute, for operators reading the log:
// lease ownership, in-flight acks, publish latency and broker reconnects.
const report = (
  leases: SlotLeases.FleetLeases["Service"] | undefined,
  client: NatsClient.NatsClient["Service"]
) =>
  Effect.gen(function* () {
    let last = ""
    let quietTicks = 0
    let seen = { count: 0, sum: 0 }
    yield* Effect.gen(function* () {
      const parts: Array<string> = []
      if (leases !== undefined) {
        const o = yield* leases.ownership
        if (o.members === 0) return
        const mine = o.slots.filter((s) => s.mine).map((s) => s.slot)
        parts.push(
          `this process (${o.processId}) holds slot(s) ${mine.length === 0 ? "none" : mine.join(",")} of ${o.slots.length}` +
            ` (${o.members} process(es), share ${o.quota}); holders: ${o.slots.map((s) => `${s.slot}=${s.holder ?? "free"}`).join(" ")}`
        )
      }
      const latency = yield* Metric.value(JetStreamSink.metrics.latency)
      const inFlight = (yield* Metric.value(JetStreamSink.metrics.inFlight)).value
      const count = latency.count - seen.count
      const sum = latency.sum - seen.sum
      seen = { count: latency.count, sum: latency.sum }
      const changed = parts.join() !== last
      last = parts.join()
      if (latency.count > 0)
        parts.push(
          `${inFlight} ack(s) in flight, publish latency ${count > 0 ? `${((sum / count) * 1000).toFixed(1)} ms` : "-"} mean`
        )
      parts.push(`NATS reconnects ${client.reconnects()}${client.connected() ? "" : " (disconnected)"}`)
      if (changed || ++quietTicks >= 30) {
        quietTicks = 0
        yield* Effect.logInfo(`${leases === undefined ? "nats" : "fleet"}: ${parts.join("; ")}`)
      }
    }).pipe(Effect.repeat(Schedule.spaced(Duration.seconds(2))))
  })

/**
 * What building the wired layers can fail with: a settings problem (exit 2), NATS out of reach.
 *
 * @since 0.1.0
 */
export type WireError<E> = E | SettingsError | NatsClient.NatsConnectError

/**
 * The layers and settings for `run`. Without NATS, the file journal and the client settings as
 * given; with it, the NATS client, the fleet journal and leases, and the sink.
 *
 * @since 0.1.0
 */
export const wire = <E>(
  options: Options,
  client: Config.ClientConfig,
  fileJournal: Layer.Layer<ConnectionJournal.ConnectionJournal, E>
) =>
  Effect.gen(function* () {
    if (options.sink === undefined && options.fleet === undefined) {
      return {
        client,
        journal: fileJournal as Layer.Layer<ConnectionJournal.ConnectionJournal, WireError<E>>,
        sink: Effect.succeed(Option.none<SinkShape>())
      }
    }
    const credentials_ = yield* credentials(options)
    const sinkUrl =
      options.sink === undefined
        ? undefined
        : yield* NatsClient.parseUrl("sink", options.sink).pipe(Effect.mapError(settingsError))
    const fleetUrl =
      options.fleet === undefined
        ? undefined
        : yield* NatsClient.parseUrl("fleet", options.fleet).pipe(Effect.mapError(settingsError))
    const sinkOptions =
      sinkUrl === undefined
        ? undefined
        : yield* JetStreamSink.optionsFromUrl(sinkUrl, parseDuration).pipe(Effect.mapError(settingsError))
    const fleetOptions =
      fleetUrl === undefined
        ? undefined
        : yield* FleetBucket.optionsFromUrl(fleetUrl, parseDuration).pipe(Effect.mapError(settingsError))
    if (
      sinkUrl !== undefined &&
      fleetUrl !== undefined &&
      (sinkUrl.tls !== fleetUrl.tls || sinkUrl.servers.join(",") !== fleetUrl.servers.join(","))
    ) {
      return yield* new SettingsError({
        field: "fleet",
        message: `--fleet and --sink name different NATS servers (${fleetUrl.servers.join(",")} and ${sinkUrl.servers.join(",")}); use the same cluster for both`
      })
    }
    const url = (fleetUrl ?? sinkUrl)!
    const id = processId()
    const natsLayer = NatsClient.layer({ url, credentials: credentials_, name: `hitstream ${id}` })
    // In a fleet, this process runs every slot and the leases decide which are open.
    const fleetClient: Config.ClientConfig =
      fleetOptions === undefined ? client : { ...client, connections: client.maxConnections }
    const prefix = FleetBucket.streamKey(client.url)

    const fleetServices =
      fleetOptions === undefined
        ? (fileJournal as unknown as Layer.Layer<ConnectionJournal.ConnectionJournal, SettingsError>)
        : Layer.unwrap(
            Effect.gen(function* () {
              // A bucket that does not fit is a settings problem (exit 2); NATS out of reach stays
              // what it is (exit 1), for the supervisor to retry.
              const buckets = yield* FleetBucket.open(fleetOptions).pipe(Effect.mapError(settingsError))
              const journal = FleetJournal.layer(buckets.journal, prefix)
              const leases = SlotLeases.layer({
                kv: buckets.leases,
                ttl: buckets.ttl,
                prefix,
                maxConnections: client.maxConnections,
                processId: id
              })
              return leases.pipe(Layer.provideMerge(journal))
            })
          )

    // The sink is opened with the layers (one NATS connection for everything) and handed to the
    // command through `sink`: the layers the journal travels in may expose only `LiveStream`.
    let opened: SinkShape | undefined
    const sinkLayer =
      sinkOptions === undefined
        ? Layer.empty
        : Layer.effectDiscard(
            Effect.gen(function* () {
              const backfill = Duration.toMillis(Duration.minutes(10))
              const sink = yield* JetStreamSink.make({
                ...sinkOptions,
                duplicateWindow: Duration.millis(
                  Math.max(Duration.toMillis(sinkOptions.duplicateWindow), backfill)
                )
              }).pipe(Effect.catchTag("NatsConfigError", (e) => Effect.fail(settingsError(e))))
              const sinkError = (e: JetStreamSink.JetStreamSinkError) =>
                new SinkError({ target: `JetStream stream ${e.stream}`, message: e.message })
              opened = {
                write: (hits) => sink.write(hits).pipe(Effect.mapError(sinkError)),
                close: sink.flush.pipe(Effect.mapError(sinkError)),
                written: sink.written,
                broken: Effect.never
              }
            })
          )

    const reporter = Layer.effectDiscard(
      Effect.gen(function* () {
        const leases = yield* Effect.serviceOption(SlotLeases.FleetLeases)
        const nats = yield* NatsClient.NatsClient
        yield* Effect.forkScoped(report(Option.getOrUndefined(leases), nats))
      })
    )

    const journal = Layer.mergeAll(sinkLayer, reporter).pipe(
      Layer.provideMerge(fleetServices),
      Layer.provideMerge(natsLayer)
    ) as unknown as Layer.Layer<ConnectionJournal.ConnectionJournal, WireError<E>>
    return {
      client: fleetClient,
      journal,
      /** The JetStream sink once the layers are built, when `--sink` names NATS. */
      sink: Effect.sync(() => Option.fromNullishOr(opened))
    }
  })
