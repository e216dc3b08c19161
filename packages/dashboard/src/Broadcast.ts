/**
 * The browsers watching the dashboard, each with a small bounded queue of messages. Publishing
 * never waits: a message goes into every queue that has room, and a browser whose queue is full
 * (it stopped reading: a suspended tab, a dead network, a slow phone) is dropped on the spot,
 * its connection closed. It reconnects on its own and starts again from a fresh snapshot.
 *
 * So the hit stream never slows down for a browser, and a browser never holds more than
 * `capacity` messages of memory here (plus one write in the socket). The number of browsers is
 * bounded too.
 *
 * @since 0.1.0
 */
import { type Cause, Effect, Queue, type Scope } from "effect"

/**
 * One watching browser.
 *
 * @since 0.1.0
 */
export interface Client {
  readonly queue: Queue.Queue<Uint8Array, Cause.Done>
  /** Closes the browser's connection (its response may be stuck waiting on a full socket). */
  readonly close: () => void
}

/**
 * @since 0.1.0
 */
export interface Broadcast {
  readonly capacity: number
  readonly maxClients: number
  readonly clients: Set<Client>
  /** Browsers dropped for lagging since the start. */
  dropped: number
}

/**
 * @since 0.1.0
 */
export const make = (
  options: { readonly capacity?: number; readonly maxClients?: number } = {}
): Broadcast => ({
  capacity: options.capacity ?? 8,
  maxClients: options.maxClients ?? 32,
  clients: new Set(),
  dropped: 0
})

const remove = (broadcast: Broadcast, client: Client) => {
  broadcast.clients.delete(client)
  Queue.endUnsafe(client.queue)
}

/**
 * Registers a browser for the scope's lifetime with `first` already queued; `undefined` when
 * `maxClients` are already watching.
 *
 * @since 0.1.0
 */
export const subscribe = (
  broadcast: Broadcast,
  first: Uint8Array,
  close: () => void
): Effect.Effect<Client | undefined, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.gen(function* () {
      if (broadcast.clients.size >= broadcast.maxClients) return undefined
      const queue = yield* Queue.bounded<Uint8Array, Cause.Done>(broadcast.capacity)
      Queue.offerUnsafe(queue, first)
      const client: Client = { queue, close }
      broadcast.clients.add(client)
      return client
    }),
    (client) => Effect.sync(() => client !== undefined && remove(broadcast, client))
  )

/**
 * Hands `message` to every browser, at once; drops each one whose queue is full. Returns how
 * many were dropped.
 *
 * @since 0.1.0
 */
export const publish = (broadcast: Broadcast, message: Uint8Array): number => {
  let dropped = 0
  for (const client of broadcast.clients) {
    if (!Queue.offerUnsafe(client.queue, message)) {
      remove(broadcast, client)
      client.close()
      dropped++
    }
  }
  broadcast.dropped += dropped
  return dropped
}

/**
 * Ends every browser's stream cleanly after what is queued for it (a shutdown, or a nudge to
 * start over): each one's connection completes and the browser reconnects by itself. Returns
 * how many there were.
 *
 * @since 0.1.0
 */
export const end = (broadcast: Broadcast): number => {
  const count = broadcast.clients.size
  for (const client of broadcast.clients) remove(broadcast, client)
  return count
}
