/**
 * Which slots this process may open: the hook that lets a fleet of processes share one stream.
 *
 * `LiveStream` runs each slot's connect-and-reconnect loop inside `hold(slot, loop)`. Alone, a
 * process holds every slot it runs (the default: `hold` just runs the loop). In fleet mode
 * (`@hitstream/nats`), `hold` first waits for the slot's lease, interrupts the loop (closing its
 * connection) when the lease is lost, and waits for the lease again; so a slot's connection is
 * open only while this process holds its lease, and the fleet never opens more connections than
 * `maxConnections`.
 *
 * A `Context.Reference`: code that provides nothing gets the single-process default.
 *
 * @since 0.1.0
 */
import { Context, type Effect } from "effect"

/**
 * @since 0.1.0
 */
export interface SlotLease {
  /**
   * Runs `loop` (one slot's connect-and-reconnect loop, which normally never ends) only while
   * this process holds the slot: waits for it first, interrupts `loop` when it is lost (the
   * connection is closed before anyone else may open the slot), then waits for it again.
   * Interrupting `hold` releases the slot once `loop` has stopped.
   */
  readonly hold: <A, E, R>(slot: number, loop: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
}

/**
 * Every slot is this process's, always: the loop runs as is.
 *
 * @since 0.1.0
 */
export const everySlot: SlotLease = { hold: (_slot, loop) => loop }

/**
 * @since 0.1.0
 */
export const SlotLease = Context.Reference<SlotLease>("@hitstream/client/SlotLease", {
  defaultValue: () => everySlot
})
