// Starting a simulator for a test, and getting a token from it.
import { assert } from "@effect/vitest"
import { Effect } from "effect"
import { Simulator } from "../src/index.ts"
import { token } from "./http.ts"

export type Sim = Simulator.Simulator["Service"]

export const withSimulator = <A, E>(
  options: Partial<Simulator.Options>,
  f: (sim: Sim) => Effect.Effect<A, E>
) =>
  Effect.gen(function* () {
    const sim = yield* Simulator.Simulator
    return yield* f(sim)
  }).pipe(Effect.provide(Simulator.layer(options)))

export const credentials = (sim: { tokenUrl: () => string; clientId: string; clientSecret: string }) =>
  Effect.gen(function* () {
    const reply = yield* token(sim.tokenUrl(), {
      grant_type: "client_credentials",
      client_id: sim.clientId,
      client_secret: sim.clientSecret,
      scope: "openid,AdobeID"
    })
    assert.strictEqual(reply.status, 200)
    return {
      authorization: `Bearer ${reply.body.access_token}`,
      "x-api-key": sim.clientId,
      "accept-encoding": "gzip"
    }
  })
