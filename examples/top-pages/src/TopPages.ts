/**
 * Every minute, the ten most viewed pages and countries of a Live Stream, printed as a table.
 *
 * The window is Effect's `Stream.aggregateWithin`: a `Sink` folds hits into counts, and a
 * `Schedule` closes the window. A window holds counts, never hits, so a busy minute costs memory
 * in distinct pages, not in hits; and while a table prints, the stream waits (backpressure).
 */
import { LiveStream } from "@hitstream/client"
import { Config, Console, DateTime, Duration, Effect, Option, Schedule, Sink, Stream } from "effect"

/** A hit, as `LiveStream.hits` delivers it. */
export type Hit = Stream.Success<LiveStream.LiveStream["Service"]["hits"]>

/** What one window saw. */
export interface Counts {
  hits: number
  readonly pages: Map<string, number>
  readonly countries: Map<string, number>
}

const add = (counts: Map<string, number>, key: string) => counts.set(key, (counts.get(key) ?? 0) + 1)

/** Folds one window's hits into counts (a fresh `Counts` per window). */
export const count: Sink.Sink<Counts, Hit> = Sink.reduce(
  (): Counts => ({ hits: 0, pages: new Map(), countries: new Map() }),
  (counts, hit) => {
    counts.hits++
    add(counts.pages, hit.pageName ?? "(no pageName)")
    // `geoCountry` is not one of the typed fields: every other field of a record is kept as sent.
    add(counts.countries, typeof hit.geoCountry === "string" ? hit.geoCountry : "(unknown)")
    return counts
  }
)

/**
 * The counts of each window of `every`. A window opens at its first hit, so a quiet stream prints
 * nothing rather than empty tables.
 */
export const windows = <E, R>(hits: Stream.Stream<Hit, E, R>, every: Duration.Input) =>
  hits.pipe(Stream.aggregateWithin(count, Schedule.spaced(every)))

/** The `n` largest counts; ties in name order, so that the same window prints the same table. */
export const top = (counts: Map<string, number>, n: number): Array<[string, number]> =>
  [...counts].sort(([a, x], [b, y]) => y - x || (a < b ? -1 : a > b ? 1 : 0)).slice(0, n)

const rows = (title: string, entries: Array<[string, number]>) => [
  `${title.padEnd(40)}${"hits".padStart(8)}`,
  ...entries.map(
    ([name, n], i) => `${String(i + 1).padStart(2)}. ${name.slice(0, 36).padEnd(36)}${String(n).padStart(8)}`
  )
]

/** One window as text: a header line, then the top pages and the top countries. */
export const table = (counts: Counts, closedAt: string, n = 10): string =>
  [
    `── ${counts.hits} hits in the window closed at ${closedAt} ──`,
    ...rows(`top ${n} pages`, top(counts.pages, n)),
    ...rows(`top ${n} countries`, top(counts.countries, n)),
    ""
  ].join("\n")

/** The example's own settings, next to the client's `HITSTREAM_*` variables. */
export const settings = (defaultWindow: Duration.Input) =>
  Config.all({
    window: Config.Duration("HITSTREAM_EXAMPLE_WINDOW").pipe(
      Config.withDefault(Duration.fromInputUnsafe(defaultWindow))
    ),
    // How many tables to print before exiting (for scripts and tests); unset: run until stopped.
    tables: Config.option(Config.Int("HITSTREAM_EXAMPLE_TABLES"))
  })

/** Prints a table per window of the Live Stream, until stopped or `HITSTREAM_EXAMPLE_TABLES`. */
export const program = (defaultWindow: Duration.Input = "1 minute") =>
  Effect.gen(function* () {
    const { window, tables } = yield* settings(defaultWindow)
    const live = yield* LiveStream.LiveStream
    yield* Effect.log(`top pages and countries every ${Duration.format(window)}`)
    const counted = windows(live.hits, window)
    yield* Option.match(tables, { onNone: () => counted, onSome: (n) => Stream.take(counted, n) }).pipe(
      Stream.runForEach((counts) =>
        Effect.flatMap(DateTime.now, (now) => Console.log(table(counts, DateTime.formatIso(now))))
      )
    )
  })
