#!/usr/bin/env node
// `npm run simulate -w @hitstream/simulator -- --port 8080 --rate 200`
import { NodeRuntime, NodeServices } from "@effect/platform-node"
import { Cause, Effect, Exit } from "effect"
import { Command } from "effect/cli"
import { parse as parseYaml } from "yaml"
import * as SimulatorCommand from "../src/SimulatorCommand.ts"

SimulatorCommand.make(parseYaml).pipe(
  Command.run({ version: "0.1.0" }),
  Effect.provide(NodeServices.layer),
  (program) =>
    NodeRuntime.runMain(program, {
      // Stopped by SIGINT or SIGTERM is how a simulator is meant to end: exit 0.
      teardown: (exit, onExit) => onExit(Exit.isSuccess(exit) || Cause.hasInterruptsOnly(exit.cause) ? 0 : 1)
    })
)
