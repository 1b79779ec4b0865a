import { and, eq, lt, sql } from "drizzle-orm";
import { cartSnapshots } from "../../../db/schema/index.ts";
import type { CartUpdated } from "../../../domain/events.ts";
import type { Tx } from "../runtime/types.ts";

/**
 * Upserts the durable copy of a cart; the newest `updatedAt` wins, so events arriving out of order
 * never roll a cart back. A deleted cart becomes a tombstone (deleted, no items) that nothing
 * overwrites, as in Redis, so a deleted cart is never restored. Returns whether the row changed.
 */
export const saveCartSnapshot = async (tx: Tx, event: CartUpdated): Promise<boolean> => {
  const deleted = event.deleted === true;
  const written = await tx
    .insert(cartSnapshots)
    .values({
      cartId: event.cartId,
      items: deleted
        ? []
        : event.items.map((i) => ({
            productId: i.productId,
            variantId: i.variantId ?? i.productId,
            qty: i.qty,
          })),
      updatedAt: new Date(event.updatedAt),
      deleted,
      eventId: event.eventId,
    })
    .onConflictDoUpdate({
      target: cartSnapshots.cartId,
      set: {
        items: sql`excluded.items`,
        updatedAt: sql`excluded.updated_at`,
        deleted: sql`excluded.deleted`,
        eventId: sql`excluded.event_id`,
      },
      setWhere: and(lt(cartSnapshots.updatedAt, sql`excluded.updated_at`), eq(cartSnapshots.deleted, false)),
    })
    .returning({ cartId: cartSnapshots.cartId });
  return written.length > 0;
};
