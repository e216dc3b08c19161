// Forwards your Live Stream to HITSTREAM_EXAMPLE_WEBHOOK_URL. The stream is configured with the
// same HITSTREAM_* variables as the `hitstream` CLI (HITSTREAM_URL, HITSTREAM_CLIENT_ID, ...).
import { NodeHttpClient, NodeRuntime } from "@effect/platform-node"
import { NodeLiveStream } from "@hitstream/client"
import { Effect } from "effect"
import { program } from "./Forwarder.ts"

program.pipe(Effect.provide([NodeLiveStream.layerFromEnv, NodeHttpClient.layerUndici]), NodeRuntime.runMain)
