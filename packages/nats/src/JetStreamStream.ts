/**
 * The JetStream stream behind the sink: its settings (from code or from the `--sink` URL), and
 * creating it or checking that an existing one fits.
 *
 * @since 0.1.0
 */
import {
  JetStreamApiCodes,
  JetStreamApiError,
  type JetStreamManager,
  type StreamInfo
} from "@nats-io/jetstream"
import { nanos } from "@nats-io/transport-node"
import { Duration, Effect } from "effect"
import { NatsConfigError, type NatsUrl, retryTransient } from "./NatsClient.ts"

/**
 * @since 0.1.0
 */
export interface Options {
  readonly stream: string
  /** Subjects are `<subjectPrefix>.<reportSuite>`. Default `hits`. */
  readonly subjectPrefix: string
  /** Replicas when creating the stream; when set, an existing stream must have as many. */
  readonly replicas: number | undefined
  /** At least the backfill window (default 10 minutes), so that backfill repeats are dropped. */
  readonly duplicateWindow: Duration.Duration
  /** Publishes awaiting their ack at once. Default 256. */
  readonly maxInFlight: number
  /** How long one publish waits for its ack before it is retried. Default 5 s. */
  readonly ackTimeout: Duration.Duration
  /** How long `flush` waits for the last acks before giving up with an error. Default 2 min. */
  readonly drainTimeout: Duration.Duration
}

/**
 * @since 0.1.0
 */
export const defaults = {
  subjectPrefix: "hits",
  replicas: undefined,
  duplicateWindow: Duration.minutes(10),
  maxInFlight: 256,
  ackTimeout: Duration.seconds(5),
  drainTimeout: Duration.minutes(2)
} as const

/**
 * Parses the sink URL's path and query: `/STREAM?subjectPrefix=hits&replicas=3&duplicateWindow=10m&maxInFlight=256`.
 *
 * @since 0.1.0
 */
export const optionsFromUrl = (
  url: NatsUrl,
  parseDuration: (text: string) => Duration.Duration | undefined
): Effect.Effect<Options, NatsConfigError> =>
  Effect.gen(function* () {
    const fail = (message: string) => Effect.fail(new NatsConfigError({ field: "sink", message }))
    const stream = url.path
    if (!/^[A-Za-z0-9_-]+$/.test(stream)) {
      return yield* fail(
        `--sink ${url.text} needs a stream name after the servers (letters, digits, - and _), e.g. nats://127.0.0.1:4222/HITS`
      )
    }
    const known = ["subjectPrefix", "replicas", "duplicateWindow", "maxInFlight"]
    for (const key of Object.keys(url.params)) {
      if (!known.includes(key))
        return yield* fail(
          `--sink has an unknown parameter ${JSON.stringify(key)}; known: ${known.join(", ")}`
        )
    }
    const subjectPrefix = url.params.subjectPrefix ?? defaults.subjectPrefix
    if (!/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/.test(subjectPrefix)) {
      return yield* fail(
        `--sink subjectPrefix is ${JSON.stringify(subjectPrefix)}; it must be subject tokens (letters, digits, - and _) joined by dots, e.g. hits or analytics.hits`
      )
    }
    let replicas: number | undefined
    if (url.params.replicas !== undefined) {
      replicas = Number(url.params.replicas)
      if (!Number.isInteger(replicas) || replicas < 1 || replicas > 5) {
        return yield* fail(
          `--sink replicas is ${JSON.stringify(url.params.replicas)}; it must be 1 to 5 (1 or 3 usually)`
        )
      }
    }
    let duplicateWindow: Duration.Duration = defaults.duplicateWindow
    if (url.params.duplicateWindow !== undefined) {
      const parsed = parseDuration(url.params.duplicateWindow)
      if (parsed === undefined) {
        return yield* fail(
          `--sink duplicateWindow is ${JSON.stringify(url.params.duplicateWindow)}; write it like 10m`
        )
      }
      duplicateWindow = parsed
    }
    let maxInFlight: number = defaults.maxInFlight
    if (url.params.maxInFlight !== undefined) {
      maxInFlight = Number(url.params.maxInFlight)
      if (!Number.isInteger(maxInFlight) || maxInFlight < 1 || maxInFlight > 65_536) {
        return yield* fail(
          `--sink maxInFlight is ${JSON.stringify(url.params.maxInFlight)}; it must be 1 to 65536`
        )
      }
    }
    return {
      ...defaults,
      stream,
      subjectPrefix,
      replicas,
      duplicateWindow,
      maxInFlight
    }
  })

const coversPrefix = (subjects: ReadonlyArray<string>, prefix: string) =>
  subjects.some((s) => s === ">" || s === `${prefix}.>`)

/**
 * Why an existing stream does not fit, or `undefined` when it does.
 *
 * @since 0.1.0
 */
export const incompatibility = (
  config: Pick<StreamInfo["config"], "subjects" | "num_replicas" | "duplicate_window">,
  options: Pick<Options, "stream" | "subjectPrefix" | "replicas" | "duplicateWindow">
): string | undefined => {
  const problems: Array<string> = []
  if (!coversPrefix(config.subjects ?? [], options.subjectPrefix)) {
    problems.push(
      `its subjects are ${JSON.stringify(config.subjects ?? [])} and do not take ${options.subjectPrefix}.> (add it: nats stream edit ${options.stream} --subjects '${options.subjectPrefix}.>', or set subjectPrefix to match)`
    )
  }
  if (options.replicas !== undefined && config.num_replicas !== options.replicas) {
    problems.push(
      `it has ${config.num_replicas} replica(s), not the ${options.replicas} asked for (change one: nats stream edit ${options.stream} --replicas ${options.replicas}, or replicas=${config.num_replicas} in --sink)`
    )
  }
  const wanted = Duration.toMillis(options.duplicateWindow)
  const has = (config.duplicate_window ?? 0) / 1_000_000
  if (has < wanted) {
    problems.push(
      `its duplicate window is ${has / 1000} s, shorter than the ${wanted / 1000} s backfill window, so repeats after a reconnect would be stored twice (nats stream edit ${options.stream} --dupe-window ${Math.ceil(wanted / 1000)}s)`
    )
  }
  return problems.length === 0
    ? undefined
    : `the JetStream stream ${options.stream} exists, but ${problems.join("; ")}`
}

/**
 * Creates the stream, or checks that the existing one fits.
 *
 * @since 0.1.0
 */
export const ensureStream = Effect.fn("JetStreamStream.ensureStream")(function* (
  manager: JetStreamManager,
  options: Pick<Options, "stream" | "subjectPrefix" | "replicas" | "duplicateWindow">
) {
  const error = (message: string) => new NatsConfigError({ field: "sink", message })
  const info = yield* Effect.tryPromise({
    try: () =>
      manager.streams.info(options.stream).catch((e) => {
        if (e instanceof JetStreamApiError && e.code === JetStreamApiCodes.StreamNotFound) return undefined
        throw e
      }),
    catch: (e) => error(`cannot read the JetStream stream ${options.stream}: ${(e as Error).message}`)
  }).pipe(retryTransient)
  if (info !== undefined) {
    const problem = incompatibility(info.config, options)
    if (problem !== undefined) return yield* error(problem)
    return info
  }
  yield* Effect.logInfo(
    `creating the JetStream stream ${options.stream} (subjects ${options.subjectPrefix}.>, ${options.replicas ?? 1} replica(s))`
  )
  return yield* Effect.tryPromise({
    try: () =>
      manager.streams.add({
        name: options.stream,
        subjects: [`${options.subjectPrefix}.>`],
        num_replicas: options.replicas ?? 1,
        duplicate_window: nanos(Duration.toMillis(options.duplicateWindow))
      }),
    catch: (e) =>
      error(
        `cannot create the JetStream stream ${options.stream} with ${options.replicas ?? 1} replica(s): ${(e as Error).message}`
      )
  }).pipe(retryTransient)
})
