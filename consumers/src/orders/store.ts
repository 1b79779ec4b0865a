import { orderLines, orders } from "../../../db/schema/index.ts";
import type { OrderPlaced } from "../../../domain/events.ts";
import { lineTotalCents } from "../../../domain/money.ts";
import type { Tx } from "../runtime/types.ts";

/**
 * Writes a placed order (status pending) and its lines. Idempotent on the order id as well as on the
 * event id: a second `order-placed` for the same order (a checkout retry that published twice)
 * finds the row and writes nothing. An order placed with a customer token records its customer.
 * Returns whether the order was new.
 */
export const recordOrder = async (tx: Tx, event: OrderPlaced): Promise<boolean> => {
  const inserted = await tx
    .insert(orders)
    .values({
      orderId: event.orderId,
      cartId: event.cartId,
      email: event.email,
      status: "pending",
      subtotalCents: event.subtotalCents,
      currency: event.currency,
      shippingAddress: event.shippingAddress,
      placedAt: new Date(event.placedAt),
      customerId: event.customerId ?? null,
    })
    .onConflictDoNothing({ target: orders.orderId })
    .returning({ orderId: orders.orderId });
  if (inserted.length === 0) return false;
  await tx.insert(orderLines).values(
    event.items.map((item) => ({
      orderId: event.orderId,
      productId: item.productId,
      sku: item.sku,
      name: item.name,
      qty: item.qty,
      unitPriceCents: item.unitPriceCents,
      lineTotalCents: lineTotalCents(item.unitPriceCents, item.qty),
    })),
  );
  return true;
};
