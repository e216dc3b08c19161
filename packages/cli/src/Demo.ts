/**
 * `hitstream demo`: the simulator and the client in one process, with a scripted drop. Loaded on
 * demand by `Commands.ts`.
 *
 * @since 0.1.0
 */
import { LiveStreamConfig, Network, NodeLiveStream } from "@hitstream/client"
import { Config, type Hit } from "@hitstream/core"
import { type GroundTruth, Simulator, Tls } from "@hitstream/simulator"
import { Console, Effect } from "effect"
import type * as Commands from "./Commands.ts"
import * as DashboardServer from "./Dashboard.ts"
import { loggerLayer, parseDurationFlag, runStream } from "./Program.ts"
import * as Sink from "./Sink.ts"
import * as Terminal from "./Terminal.ts"

/**
 * The demo's ground truth: of the hits the simulator sent, those the client never received
 * although it received a later one (lost), and those after the last it received (on the wire
 * when the demo stopped it: a stream resumes from its last position, so they are not lost). One
 * connection reads the hits in index order, backfill included.
 *
 * @since 0.1.0
 */
export const tally = (
  sent: ReadonlyArray<GroundTruth.SentHit>,
  seen: ReadonlySet<string>
): { readonly missing: number; readonly inFlight: number } => {
  const received = (s: GroundTruth.SentHit) => seen.has(`${s.hitIdHigh}:${s.hitIdLow}`)
  const last = sent.reduce((max, s) => (received(s) ? Math.max(max, s.index) : max), -1)
  let missing = 0
  let inFlight = 0
  for (const s of sent) {
    if (received(s)) continue
    if (s.index <= last) missing++
    else inFlight++
  }
  return { missing, inFlight }
}
/**
 * The demo's line for a hit: page and city in fixed columns (display columns: `東京` is four
 * wide), then the hit id.
 *
 * @since 0.1.0
 */
export const demoLine = (hit: Hit.Hit): string =>
  `${Terminal.padEnd(String(hit.pageName ?? ""), 40)} ${Terminal.padEnd(String(hit["geoCity"] ?? ""), 12)} ${hit.hitIdHigh}`

/**
 * `hitstream demo`, after its flags are parsed.
 *
 * @since 0.1.0
 */
export const demo = Effect.fnUntraced(function* (flags: Commands.DemoFlags) {
  const until = yield* parseDurationFlag(flags.duration)
  const tls = flags.tls ? yield* Tls.generate() : undefined
  const line = Terminal.forStderr()
  yield* Effect.gen(function* () {
    const sim = yield* Simulator.Simulator
    const config = yield* Config.decode({
      url: sim.streamUrl(),
      clientId: sim.clientId,
      clientSecret: sim.clientSecret,
      tokenUrl: sim.tokenUrl(),
      minReconnectDelay: flags.delay
    })
    const seen = new Set<string>()
    let duplicates = 0
    const note = (text: string) =>
      line !== undefined ? line.above(text) : Effect.runSync(Console.error(text))
    const intro = [
      `hitstream demo: a Live Stream simulator on ${sim.baseUrl}, and the client reading it.`,
      `The simulator drops the connection after 150 hits. The client then waits ${flags.delay} before reconnecting:`,
      `shortened for the demo; against Adobe the default and the vendor's rule is 60s.`,
      `Hits go to stdout (page, city, hit id); status to stderr. Ctrl-C stops.`,
      ``
    ].join("\n")
    const onHits = (hits: ReadonlyArray<Hit.Hit>) =>
      Effect.sync(() => {
        for (const h of hits) {
          const id = `${h.hitIdHigh}:${h.hitIdLow}`
          if (seen.has(id)) duplicates++
          seen.add(id)
        }
      })
    const sink = yield* Sink.stdout(demoLine, { line: process.stdout.isTTY === true ? line : undefined })
    yield* Effect.gen(function* () {
      // The dashboard's address first: the page shows the drop and the reconnection as they happen.
      note(`Dashboard: ${yield* DashboardServer.url}  (slots, the drop and the wait, hits/s, lag, top pages)`)
      note(intro)
      yield* runStream({
        sink,
        limit: undefined,
        duration: until,
        line,
        label: "[demo] ",
        onHits: (hits) => Effect.andThen(onHits(hits), DashboardServer.recordIfServed(hits))
      }).pipe(
        DashboardServer.attached,
        Effect.provide(
          NodeLiveStream.layerWith(
            LiveStreamConfig.layerValue(config),
            undefined,
            Network.layer(tls === undefined ? {} : { caFiles: [tls.caFile] })
          )
        )
      )
    }).pipe(Effect.provide(DashboardServer.layerForDemo()))
    const sent = yield* sim.sent
    const { missing, inFlight } = tally(sent, seen)
    const log = yield* sim.log
    note(
      `\n${seen.size} distinct hits received; the simulator sent ${sent.length} (${inFlight > 0 ? `${inFlight} on the wire at the stop; ` : ""}missing: ${missing}, delivered twice: ${duplicates}); ${log.length} connection attempts: ${log.map((a) => a.status).join(", ")}`
    )
  }).pipe(
    Effect.provide(
      Simulator.layer({
        rate: flags.rate,
        gracePeriod: 3_000,
        scenario: [{ status: 200, after: 150, fault: "drop" }],
        tls
      })
    ),
    Effect.provide(loggerLayer("info", "pretty", line)),
    Effect.catchTag("StdoutClosed", () => Effect.void)
  )
}, Effect.scoped)
