// Real `nats-server` processes on free loopback ports, with JetStream in a temporary directory;
// killed in the scope's finalizer.
import { Effect, Scope } from "effect"
import { type ChildProcess, spawn } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"

export const natsServerBinary = process.env.NATS_SERVER ?? "/usr/sbin/nats-server"

export const freePort = Effect.promise(
  () =>
    new Promise<number>((resolve, reject) => {
      const server = createServer()
      server.once("error", reject)
      server.listen(0, "127.0.0.1", () => {
        const port = (server.address() as { port: number }).port
        server.close(() => resolve(port))
      })
    })
)

export interface Node {
  readonly name: string
  readonly port: number
  readonly url: string
  readonly log: () => string
  /** SIGKILL: no goodbye to the cluster. */
  readonly kill: Effect.Effect<void>
  /** Starts the node again on the same ports and storage. */
  readonly restart: Effect.Effect<void>
}

interface Spec {
  readonly name: string
  readonly port: number
  readonly clusterPort: number | undefined
  readonly routes: ReadonlyArray<number>
  readonly storeDir: string
}

const launch = (spec: Spec) =>
  Effect.callback<{ child: ChildProcess; log: { text: string } }>((resume) => {
    const args = ["-js", "-sd", spec.storeDir, "-a", "127.0.0.1", "-p", String(spec.port), "-n", spec.name]
    if (spec.clusterPort !== undefined) {
      args.push(
        "--cluster_name",
        "hitstream-test",
        "--cluster",
        `nats://127.0.0.1:${spec.clusterPort}`,
        "--routes",
        spec.routes.map((p) => `nats://127.0.0.1:${p}`).join(",")
      )
    }
    const child = spawn(natsServerBinary, args, { stdio: ["ignore", "pipe", "pipe"] })
    const log = { text: "" }
    let ready = false
    const onData = (d: Buffer) => {
      log.text += d
      if (!ready && log.text.includes("Server is ready")) {
        ready = true
        resume(Effect.succeed({ child, log }))
      }
    }
    child.stdout!.on("data", onData)
    child.stderr!.on("data", onData)
    child.once("exit", (code) => {
      if (!ready) resume(Effect.die(new Error(`nats-server ${spec.name} exited (${code}):\n${log.text}`)))
    })
    return Effect.sync(() => child.kill("SIGKILL"))
  }).pipe(Effect.timeout("15 seconds"), Effect.orDie)

const stop = (child: ChildProcess) =>
  Effect.callback<void>((resume) => {
    if (child.exitCode !== null || child.signalCode !== null) return resume(Effect.void)
    child.once("exit", () => resume(Effect.void))
    child.kill("SIGKILL")
  })

const node = (spec: Spec): Effect.Effect<Node, never, Scope.Scope> =>
  Effect.gen(function* () {
    let current = yield* launch(spec)
    yield* Effect.addFinalizer(() => stop(current.child))
    return {
      name: spec.name,
      port: spec.port,
      url: `127.0.0.1:${spec.port}`,
      log: () => current.log.text,
      kill: Effect.suspend(() => stop(current.child)),
      restart: Effect.gen(function* () {
        yield* stop(current.child)
        current = yield* launch(spec)
      })
    }
  })

const storage = Effect.acquireRelease(
  Effect.sync(() => mkdtempSync(join(tmpdir(), "hitstream-nats-"))),
  (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
)

/** One JetStream server. */
export const single = Effect.gen(function* () {
  const dir = yield* storage
  const port = yield* freePort
  return yield* node({ name: "n0", port, clusterPort: undefined, routes: [], storeDir: dir })
})

/** `size` JetStream servers in one cluster, with routes to each other. */
export const cluster = (size: number) =>
  Effect.gen(function* () {
    const dir = yield* storage
    const ports = yield* Effect.forEach(Array.from({ length: size }), () => freePort)
    const clusterPorts = yield* Effect.forEach(Array.from({ length: size }), () => freePort)
    const nodes = yield* Effect.forEach(
      ports,
      (port, i) =>
        node({
          name: `n${i}`,
          port,
          clusterPort: clusterPorts[i],
          routes: clusterPorts.filter((_, j) => j !== i),
          storeDir: join(dir, `n${i}`)
        }),
      { concurrency: "unbounded" }
    )
    return nodes
  })

/** `nats://a,b,c` for a list of nodes. */
export const serversUrl = (nodes: ReadonlyArray<Node>, path = "") =>
  `nats://${nodes.map((n) => n.url).join(",")}${path}`
