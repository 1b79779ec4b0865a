import { asc, eq } from "drizzle-orm";
import { orderFromRows } from "../../../db/orders.ts";
import { orderLines, orders, payments } from "../../../db/schema/index.ts";
import type { Order } from "../../../domain/orders.ts";
import type { EdgeDb } from "../../platform/clients.ts";

/** An order and its owner (null: a guest order). */
export type OwnedOrder = { order: Order; customerId: string | null };

/** An order as Postgres, the system of record, has it (one round trip), or null. */
export const orderFromPostgres = async (db: EdgeDb, orderId: string): Promise<OwnedOrder | null> => {
  const [[row], lines, [payment]] = await db.batch([
    db.select().from(orders).where(eq(orders.orderId, orderId)),
    db
      .select()
      .from(orderLines)
      .where(eq(orderLines.orderId, orderId))
      .orderBy(asc(orderLines.productId), asc(orderLines.variantId)),
    db
      .select({ status: payments.status, clientSecret: payments.clientSecret })
      .from(payments)
      .where(eq(payments.orderId, orderId)),
  ]);
  return row ? { order: orderFromRows(row, lines, payment), customerId: row.customerId } : null;
};
