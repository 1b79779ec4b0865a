import { sql } from "drizzle-orm";
import { orderLines, orders } from "../../../db/schema/index.ts";
import type { OrderPlaced } from "../../../domain/events.ts";
import { lineTotalCents } from "../../../domain/money.ts";
import type { Tx } from "../runtime/types.ts";

/**
 * Writes a placed order (status pending) and its lines, in one statement: the lines are inserted
 * from the order row the statement inserted, so they are written only with a new order. Idempotent on
 * the order id as well as on the event id: a second `order-placed` for the same order (a checkout
 * retry that published twice) finds the row and writes nothing. An order placed with a customer token
 * records its customer. Returns whether the order was new.
 */
export const recordOrder = async (tx: Tx, event: OrderPlaced): Promise<boolean> => {
  const inserted = tx.$with("inserted").as(
    tx
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
      .returning({ orderId: orders.orderId }),
  );
  const lines = sql.join(
    event.items.map(
      (item) =>
        sql`(${item.productId}::varchar, ${item.sku}::varchar, ${item.name}::text, ${item.qty}::integer,
          ${item.unitPriceCents}::bigint, ${lineTotalCents(item.unitPriceCents, item.qty)}::bigint)`,
    ),
    sql`, `,
  );
  const written = await tx
    .with(inserted)
    .insert(orderLines)
    .select(
      sql`select i.order_id, v.product_id, v.sku, v.name, v.qty, v.unit_price_cents, v.line_total_cents
          from ${inserted} as i
          cross join (values ${lines}) as v(product_id, sku, name, qty, unit_price_cents, line_total_cents)`,
    )
    .returning({ orderId: orderLines.orderId });
  return written.length > 0;
};
