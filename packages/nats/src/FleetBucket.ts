/**
 * The two JetStream KV buckets a fleet shares: `<bucket>` (leases and members, whose keys expire
 * after the bucket's TTL unless renewed) and `<bucket>-journal` (each slot's last connection end,
 * kept with no TTL). Keys start with the stream's name, so streams can share the buckets.
 *
 * @since 0.1.0
 */
import { RedactedUrl } from "@hitstream/core"
import { JetStreamApiCodes, JetStreamApiError } from "@nats-io/jetstream"
import { type KV, Kvm } from "@nats-io/kv"
import { Duration, Effect } from "effect"
import { NatsClient, NatsConfigError, type NatsUrl, retryTransient } from "./NatsClient.ts"

/**
 * @since 0.1.0
 */
export interface Options {
  /** Bucket name (letters, digits, - and _). Default `hitstream`. */
  readonly bucket: string
  /** Replicas when creating the buckets: like the stream's. Default 1. */
  readonly replicas: number
  /** The leases' TTL when creating the bucket; an existing bucket keeps its own. Default 15 s. */
  readonly ttl: Duration.Duration
}

/**
 * @since 0.1.0
 */
export const defaults: Options = { bucket: "hitstream", replicas: 1, ttl: Duration.seconds(15) }

/**
 * Parses the fleet URL's path and query: `/BUCKET?replicas=3&ttl=15s`.
 *
 * @since 0.1.0
 */
export const optionsFromUrl = (
  url: NatsUrl,
  parseDuration: (text: string) => Duration.Duration | undefined
): Effect.Effect<Options, NatsConfigError> =>
  Effect.gen(function* () {
    const fail = (message: string) => Effect.fail(new NatsConfigError({ field: "fleet", message }))
    const bucket = url.path === "" ? defaults.bucket : url.path
    if (!/^[A-Za-z0-9_-]+$/.test(bucket)) {
      return yield* fail(
        `--fleet bucket is ${JSON.stringify(bucket)}; a bucket name is letters, digits, - and _ (e.g. nats://127.0.0.1:4222/hitstream)`
      )
    }
    for (const key of Object.keys(url.params)) {
      if (key !== "replicas" && key !== "ttl")
        return yield* fail(`--fleet has an unknown parameter ${JSON.stringify(key)}; known: replicas, ttl`)
    }
    let replicas = defaults.replicas
    if (url.params.replicas !== undefined) {
      replicas = Number(url.params.replicas)
      if (!Number.isInteger(replicas) || replicas < 1 || replicas > 5)
        return yield* fail(`--fleet replicas is ${JSON.stringify(url.params.replicas)}; it must be 1 to 5`)
    }
    let ttl = defaults.ttl
    if (url.params.ttl !== undefined) {
      const parsed = parseDuration(url.params.ttl)
      if (parsed === undefined || Duration.toMillis(parsed) < 1_000)
        return yield* fail(
          `--fleet ttl is ${JSON.stringify(url.params.ttl)}; write it like 15s (at least 1s)`
        )
      ttl = parsed
    }
    return { bucket, replicas, ttl }
  })

/**
 * The key prefix of a stream: its host and path, as key characters.
 *
 * @since 0.1.0
 */
export const streamKey = (streamUrl: string): string =>
  RedactedUrl.endpointKey(streamUrl)
    .replace(/[^A-Za-z0-9_-]+/g, "_")
    .replace(/^_+|_+$/g, "")
    .slice(0, 100) || "stream"

/**
 * The open buckets, and the leases' TTL in milliseconds (the bucket's own).
 *
 * @since 0.1.0
 */
export interface Buckets {
  readonly leases: KV
  readonly journal: KV
  readonly ttl: number
}

const isNotFound = (e: unknown) =>
  (e instanceof JetStreamApiError && e.code === JetStreamApiCodes.StreamNotFound) ||
  /not found/i.test((e as Error)?.message ?? "")

// `Kvm.open` binds without looking; the status read is what finds out whether the bucket exists.
// Processes starting together may all create it: the same settings make that idempotent.
const openOrCreate = (kvm: Kvm, name: string, create: Parameters<Kvm["create"]>[1]) =>
  Effect.tryPromise({
    try: async () => {
      const kv = await kvm.open(name)
      try {
        await kv.status()
        return kv
      } catch (e) {
        if (!isNotFound(e)) throw e
        return await kvm.create(name, create)
      }
    },
    catch: (e) =>
      new NatsConfigError({
        field: "fleet",
        message: `cannot open or create the JetStream KV bucket ${name}: ${(e as Error).message}`
      })
  }).pipe(retryTransient)

/**
 * Opens the buckets, creating them when absent. A lease bucket without a TTL is an error: its
 * keys would never expire, and a crashed process's slots would never be freed.
 *
 * @since 0.1.0
 */
export const open = Effect.fn("FleetBucket.open")(function* (options: Options) {
  const client = yield* NatsClient
  const kvm = new Kvm(client.connection)
  const leases = yield* openOrCreate(kvm, options.bucket, {
    ttl: Duration.toMillis(options.ttl),
    history: 1,
    replicas: options.replicas
  })
  const journal = yield* openOrCreate(kvm, `${options.bucket}-journal`, {
    history: 1,
    replicas: options.replicas
  })
  const status = yield* Effect.tryPromise({
    try: () => leases.status(),
    catch: (e) =>
      new NatsConfigError({
        field: "fleet",
        message: `cannot read the KV bucket ${options.bucket}: ${(e as Error).message}`
      })
  }).pipe(retryTransient)
  if (!(status.ttl > 0)) {
    return yield* new NatsConfigError({
      field: "fleet",
      message: `the KV bucket ${options.bucket} exists without a TTL, so a crashed process's leases would never expire; delete it (nats kv del ${options.bucket}) or name another bucket in --fleet`
    })
  }
  if (status.ttl !== Duration.toMillis(options.ttl)) {
    yield* Effect.logInfo(
      `the KV bucket ${options.bucket} has a TTL of ${status.ttl / 1000} s; leases follow it (asked for ${Duration.format(options.ttl)})`
    )
  }
  return { leases, journal, ttl: status.ttl } satisfies Buckets
})
