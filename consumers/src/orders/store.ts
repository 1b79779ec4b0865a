import { recordPlacedOrder } from "../../../db/order-writes.ts";
import type { OrderPlaced } from "../../../domain/events.ts";
import type { Tx } from "../runtime/types.ts";

/**
 * Writes a placed order (status pending) and its lines (db/order-writes.ts). Idempotent on the order
 * id as well as on the event id: a second `order-placed` for the same order (a checkout retry that
 * published twice) finds the row and writes nothing. An order placed with a customer token records
 * its customer. Returns whether the order was new.
 */
export const recordOrder = async (tx: Tx, event: OrderPlaced): Promise<boolean> =>
  (await tx.execute(recordPlacedOrder(event))).rows.length > 0;
