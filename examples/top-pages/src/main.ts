// The top pages of your Live Stream: configure it with the same HITSTREAM_* variables as the
// `hitstream` CLI (HITSTREAM_URL, HITSTREAM_CLIENT_ID, HITSTREAM_CLIENT_SECRET, ...).
import { NodeRuntime } from "@effect/platform-node"
import { NodeLiveStream } from "@hitstream/client"
import { Effect } from "effect"
import { program } from "./TopPages.ts"

program().pipe(Effect.provide(NodeLiveStream.layerFromEnv), NodeRuntime.runMain)
