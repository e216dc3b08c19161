/**
 * Certificates for the simulator's HTTPS listeners: a fresh certificate authority and a server
 * certificate it signs, made with the `openssl` command (Debian's, or any OpenSSL 3), or a pair
 * given as files.
 *
 * A fresh CA per run, rather than a self-signed server certificate, is what production looks
 * like: a client trusts a CA (`--ca-file`) and the server presents a certificate for its name.
 * It lets tests check the three things a client must check: the chain, the host name and the
 * dates.
 *
 * @since 0.1.0
 */
import { NodeChildProcessSpawner, NodeFileSystem, NodePath } from "@effect/platform-node"
import { Effect, FileSystem, Layer, Path, Schema, type Scope, Stream } from "effect"
import { ChildProcess, ChildProcessSpawner } from "effect/process"

/**
 * A server certificate (with its chain, PEM) and its private key (PEM).
 *
 * @since 0.1.0
 */
export interface Credentials {
  readonly cert: string
  readonly key: string
}

/**
 * Generated credentials, with the CA that signed them and where each is written.
 *
 * @since 0.1.0
 */
export interface Generated extends Credentials {
  /** The CA certificate (PEM): what a client trusts. */
  readonly ca: string
  readonly caFile: string
  readonly certFile: string
  readonly keyFile: string
  /** The directory holding the files; removed when the scope closes. */
  readonly directory: string
}

/**
 * Certificates could not be made or read; the message says which file or command and why.
 *
 * @since 0.1.0
 */
export class TlsError extends Schema.TaggedError<TlsError>()("TlsError", {
  message: Schema.String
}) {}

/**
 * The names a loopback simulator answers to.
 *
 * @since 0.1.0
 */
export const defaultHosts: ReadonlyArray<string> = ["localhost", "127.0.0.1", "::1"]

const isIp = (host: string) => /^[\d.]+$/.test(host) || host.includes(":")

/**
 * The `subjectAltName` extension for host names and IP addresses (IPv6 without brackets).
 *
 * @since 0.1.0
 */
export const subjectAltName = (hosts: ReadonlyArray<string>): string =>
  hosts
    .map((host) => host.replace(/^\[(.*)\]$/, "$1"))
    .map((host) => (isIp(host) ? `IP:${host}` : `DNS:${host}`))
    .join(",")

// The CLI's services are not required of callers: openssl and a temporary directory are an
// implementation detail of making a certificate.
const services = NodeChildProcessSpawner.layer.pipe(
  Layer.provideMerge(Layer.mergeAll(NodeFileSystem.layer, NodePath.layer))
)

const openssl = Effect.fnUntraced(function* (args: ReadonlyArray<string>, cwd: string) {
  const spawner = yield* ChildProcessSpawner.ChildProcessSpawner
  const failed = (detail: string) =>
    new TlsError({
      message: `openssl ${args[0]} failed: ${detail}. The simulator makes its certificates with the openssl command (apt-get install openssl); or give a pair with --tls-cert and --tls-key`
    })
  return yield* Effect.scoped(
    Effect.gen(function* () {
      const handle = yield* spawner.spawn(ChildProcess.make("openssl", args, { cwd }))
      const [stderr, code] = yield* Effect.all(
        [Stream.mkString(Stream.decodeText(handle.stderr)), handle.exitCode],
        { concurrency: 2 }
      )
      if (code !== 0) return yield* failed(`exit ${code}: ${stderr.trim().split("\n").slice(-3).join(" / ")}`)
    })
  ).pipe(Effect.catchTag("PlatformError", (e) => Effect.fail(failed(e.message))))
})

const keyArgs = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]

/**
 * Makes a CA and a server certificate for `hosts` (default: localhost, 127.0.0.1 and ::1),
 * valid for `days` (default 2), in a temporary directory removed when the scope closes.
 *
 * @since 0.1.0
 */
export const generate = (
  options: { readonly hosts?: ReadonlyArray<string>; readonly days?: number } = {}
): Effect.Effect<Generated, TlsError, Scope.Scope> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const hosts = options.hosts ?? defaultHosts
    const days = String(options.days ?? 2)
    const directory = yield* fs
      .makeTempDirectoryScoped({ prefix: "hitstream-tls-" })
      .pipe(
        Effect.mapError(
          (e) => new TlsError({ message: `cannot make a directory for certificates: ${e.message}` })
        )
      )
    const caFile = path.join(directory, "ca.pem")
    const certFile = path.join(directory, "server.pem")
    const keyFile = path.join(directory, "server-key.pem")
    yield* openssl(
      [
        "req",
        "-x509",
        ...keyArgs,
        "-keyout",
        "ca-key.pem",
        "-out",
        "ca.pem",
        "-days",
        days,
        "-subj",
        "/CN=hitstream simulator CA",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign"
      ],
      directory
    )
    yield* openssl(
      [
        "req",
        "-x509",
        ...keyArgs,
        "-keyout",
        "server-key.pem",
        "-out",
        "server.pem",
        "-days",
        days,
        "-subj",
        `/CN=${hosts[0] ?? "localhost"}`,
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca-key.pem",
        "-addext",
        `subjectAltName=${subjectAltName(hosts)}`,
        "-addext",
        "basicConstraints=critical,CA:FALSE",
        "-addext",
        "extendedKeyUsage=serverAuth"
      ],
      directory
    )
    // The CA's key is of no further use; the server's stays for the listener.
    yield* fs.remove(path.join(directory, "ca-key.pem")).pipe(Effect.ignore)
    const read = (file: string) =>
      fs
        .readFileString(file)
        .pipe(Effect.mapError((e) => new TlsError({ message: `cannot read ${file}: ${e.message}` })))
    return {
      ca: yield* read(caFile),
      cert: yield* read(certFile),
      key: yield* read(keyFile),
      caFile,
      certFile,
      keyFile,
      directory
    } satisfies Generated
  }).pipe(Effect.provide(services))

/**
 * Reads a certificate (chain) and its key, as `--tls-cert` and `--tls-key` give them. Checks
 * that each is PEM of the right kind, so a swapped pair is named here, not in a TLS handshake.
 *
 * @since 0.1.0
 */
export const readPair = (certFile: string, keyFile: string): Effect.Effect<Credentials, TlsError> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const read = (file: string, flag: string, marker: RegExp, kind: string) =>
      fs.readFileString(file).pipe(
        Effect.mapError((e) => new TlsError({ message: `cannot read ${flag} ${file}: ${e.message}` })),
        Effect.filterOrFail(
          (text) => marker.test(text),
          () => new TlsError({ message: `${flag} ${file} holds no PEM ${kind}` })
        )
      )
    return {
      cert: yield* read(certFile, "--tls-cert", /-----BEGIN CERTIFICATE-----/, "certificate"),
      key: yield* read(keyFile, "--tls-key", /-----BEGIN [A-Z ]*PRIVATE KEY-----/, "private key")
    }
  }).pipe(Effect.provide(NodeFileSystem.layer))
