// Per-report-suite metrics of your Live Stream at http://127.0.0.1:9464/metrics. The stream is
// configured with the same HITSTREAM_* variables as the `hitstream` CLI (HITSTREAM_URL, ...).
import { NodeRuntime } from "@effect/platform-node"
import { NodeLiveStream } from "@hitstream/client"
import { Effect } from "effect"
import { program } from "./CustomMetrics.ts"

program.pipe(Effect.provide(NodeLiveStream.layerFromEnv), NodeRuntime.runMain)
