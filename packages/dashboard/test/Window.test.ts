import { assert, describe, it } from "@effect/vitest"
import type { Hit } from "@hitstream/core"
import { Arbitrary, Schema } from "effect"
import { Window } from "../src/index.ts"

const int = (minimum: number, maximum: number) =>
  Arbitrary.schema(Schema.Int.check(Schema.isBetween({ minimum, maximum })))

const pages = ["home", "cart", "search", "blog:été", ""]
const countries = ["fra", "jpn", "usa"]
const suites = ["rs-a", "rs-b"]

interface Arrival {
  readonly offset: number // milliseconds after the start
  readonly page: number
  readonly country: number
  readonly suite: number
}

const arrival = Arbitrary.map(
  Arbitrary.all([
    int(0, 1_500_000),
    int(0, pages.length),
    int(0, countries.length - 1),
    int(0, suites.length - 1)
  ]),
  ([offset, page, country, suite]): Arrival => ({ offset, page, country, suite })
)

const start = 1_700_000_000_000

// A page index equal to pages.length means the hit has no pageName at all.
const hitOf = (a: Arrival): Hit.Hit =>
  ({
    ...(a.page < pages.length ? { pageName: pages[a.page] } : {}),
    geoCountry: countries[a.country],
    reportSuite: suites[a.suite],
    receivedTimeGMT: Math.floor((start + a.offset) / 1000) - 30
  }) as unknown as Hit.Hit

const naiveTop = (
  arrivals: ReadonlyArray<Arrival>,
  nowSecond: number,
  seconds: number,
  dimension: Window.Dimension
) => {
  const counts = new Map<string, number>()
  for (const a of arrivals) {
    const second = Math.floor((start + a.offset) / 1000)
    if (second > nowSecond - seconds && second <= nowSecond) {
      const key = Window.keyOf(hitOf(a), dimension)
      counts.set(key, (counts.get(key) ?? 0) + 1)
    }
  }
  return counts
}

describe("Window", () => {
  it.prop(
    "the top tables equal a naive count of the hits whose second is within the window, at every read",
    [Arbitrary.array(arrival, { maxLength: 400 }), int(1, 40), int(1, 8)],
    ([unsorted, topSeconds, n]) => {
      const arrivals = [...unsorted].sort((a, b) => a.offset - b.offset)
      const window = Window.make(Math.floor(start / 1000), { topSeconds, seriesSeconds: 60 })
      const check = (seen: ReadonlyArray<Arrival>, nowSecond: number) => {
        Window.advance(window, nowSecond)
        for (const dimension of Window.dimensions) {
          const naive = naiveTop(seen, nowSecond, topSeconds, dimension)
          const expected = Array.from(naive, ([key, count]) => ({ key, count }))
            .sort((x, y) => y.count - x.count || (x.key < y.key ? -1 : x.key > y.key ? 1 : 0))
            .slice(0, n)
          assert.deepStrictEqual(Window.top(window, dimension, n), expected, `${dimension} at ${nowSecond}`)
          // Nothing outside the window is remembered.
          assert.strictEqual(window.totals[dimension].size, naive.size)
        }
      }
      for (let i = 0; i < arrivals.length; i++) {
        Window.record(window, [hitOf(arrivals[i])], start + arrivals[i].offset)
        if (i % 7 === 0) check(arrivals.slice(0, i + 1), Math.floor((start + arrivals[i].offset) / 1000))
      }
      // Then time passes with nothing arriving: the hits leave the window.
      const last = Math.floor((start + (arrivals.at(-1)?.offset ?? 0)) / 1000)
      for (const later of [0, Math.floor(topSeconds / 2), topSeconds - 1, topSeconds, 3 * topSeconds]) {
        check(arrivals, last + later)
      }
    },
    { arbitrary: { runs: 200 } }
  )

  it.prop(
    "the series has each second's hit count and mean lag over the last seriesSeconds, 0 hits where none arrived",
    [Arbitrary.array(arrival, { maxLength: 300 }), int(5, 120)],
    ([unsorted, seriesSeconds]) => {
      const arrivals = [...unsorted].sort((a, b) => a.offset - b.offset)
      const window = Window.make(Math.floor(start / 1000), { seriesSeconds, topSeconds: 5 })
      for (const a of arrivals) Window.record(window, [hitOf(a)], start + a.offset)
      const nowSecond = Math.floor((start + (arrivals.at(-1)?.offset ?? 0)) / 1000)
      const points = Window.points(window, -Infinity, nowSecond)
      const first = Math.max(Math.floor(start / 1000), nowSecond - seriesSeconds + 1)
      assert.strictEqual(points.length, nowSecond - first + 1)
      for (const point of points) {
        const here = arrivals.filter((a) => Math.floor((start + a.offset) / 1000) === point.second)
        assert.strictEqual(point.hits, here.length, `second ${point.second}`)
        if (here.length === 0) assert.isNull(point.lag)
        else {
          const mean =
            here.reduce((sum, a) => sum + ((start + a.offset) / 1000 - hitOf(a).receivedTimeGMT!), 0) /
            here.length
          assert.closeTo(point.lag!, mean, 0.051)
        }
      }
    },
    { arbitrary: { runs: 200 } }
  )

  it("bounds the distinct keys: past maxKeys, new ones count as (other)", () => {
    const window = Window.make(100, { maxKeys: 3 })
    const hits = ["a", "b", "c", "d", "e", "a"].map((pageName) => ({ pageName }) as unknown as Hit.Hit)
    Window.record(window, hits, 100_500)
    assert.deepStrictEqual(Window.top(window, "pages", 10), [
      { key: Window.other, count: 2 },
      { key: "a", count: 2 },
      { key: "b", count: 1 },
      { key: "c", count: 1 }
    ])
    assert.deepStrictEqual(Window.top(window, "countries", 10), [{ key: Window.none, count: 6 }])
  })

  it("cuts very long keys", () => {
    const hit = { pageName: "x".repeat(1000) } as unknown as Hit.Hit
    assert.strictEqual(Window.keyOf(hit, "pages").length, 120)
    assert.isTrue(Window.keyOf(hit, "pages").endsWith("…"))
  })
})
