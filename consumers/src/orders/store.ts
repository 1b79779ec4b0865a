import { recordPlacedOrders } from "../../../db/order-writes.ts";
import type { OrderPlaced } from "../../../domain/events.ts";
import type { Tx } from "../runtime/types.ts";

/**
 * Writes placed orders (status pending) and their lines, in one statement (db/order-writes.ts).
 * Idempotent on the order id as well as on the event id: a second `order-placed` for the same order
 * (a checkout retry that published twice) finds the row and writes nothing. An order placed with a
 * customer token records its customer. Returns the ids of the orders that were new.
 */
export const recordOrders = async (tx: Tx, events: readonly OrderPlaced[]): Promise<Set<string>> => {
  if (events.length === 0) return new Set();
  const { rows } = await tx.execute<{ order_id: string }>(recordPlacedOrders(events));
  return new Set(rows.map((row) => row.order_id));
};

/** Writes one placed order and its lines (see `recordOrders`); returns whether it was new. */
export const recordOrder = async (tx: Tx, event: OrderPlaced): Promise<boolean> =>
  (await recordOrders(tx, [event])).has(event.orderId);
