import { and, asc, eq, sql } from "drizzle-orm";
import type { Db } from "../../../db/node-client.ts";
import { markFulfilling as fulfilling, markShipped as shipped } from "../../../db/order-writes.ts";
import { orderLines, orders, payments } from "../../../db/schema/index.ts";
import type { OrderStatus, Shipment } from "../../../domain/order-events.ts";
import type { Tx } from "../runtime/types.ts";
import type { FulfillmentRequest } from "./provider.ts";

/**
 * The fulfillment step's Postgres side. Every change is a conditional update of the order's row
 * (`where status = …`), so of a merchant's cancellation and a warehouse's shipment, whichever
 * commits first on the row decides: a shipped order is never cancelled, a cancelled one never
 * recorded as shipped.
 */

/**
 * The order's status, whether its payment is captured, and what the warehouse needs, read without
 * locks (before a warehouse call).
 */
export const loadFulfillmentRequest = async (
  db: Db,
  orderId: string,
): Promise<{ status: OrderStatus; captured: boolean; request: FulfillmentRequest } | undefined> => {
  const [row] = await db
    .select({
      status: orders.status,
      shippingAddress: orders.shippingAddress,
      // Qualified by hand: a bare column inside the subquery would bind to the payments table.
      captured: sql<boolean>`exists (select 1 from ${payments} as p
        where p.order_id = "orders"."order_id" and p.status = 'captured')`,
    })
    .from(orders)
    .where(eq(orders.orderId, orderId));
  if (!row) return undefined;
  const items = await db
    .select({
      productId: orderLines.productId,
      sku: orderLines.sku,
      name: orderLines.name,
      qty: orderLines.qty,
    })
    .from(orderLines)
    .where(eq(orderLines.orderId, orderId))
    .orderBy(asc(orderLines.productId));
  return {
    status: row.status,
    captured: row.captured,
    request: { orderId, shippingAddress: row.shippingAddress, items },
  };
};

/**
 * Confirmed orders whose payment is captured and that are not at the warehouse yet, oldest first:
 * those whose capture landed after their `order-finalized` was handled.
 */
export const capturedUnrequestedOrders = async (db: Db, limit: number): Promise<string[]> => {
  const rows = await db
    .select({ orderId: orders.orderId })
    .from(orders)
    .innerJoin(payments, eq(payments.orderId, orders.orderId))
    .where(and(eq(orders.status, "confirmed"), eq(payments.status, "captured")))
    .orderBy(asc(orders.createdAt), asc(orders.orderId))
    .limit(limit);
  return rows.map((row) => row.orderId);
};

/** confirmed → fulfilling; false when the order is no longer confirmed (cancelled, or moved on). */
export const markFulfilling = async (tx: Tx, orderId: string): Promise<boolean> =>
  (await tx.execute(fulfilling(orderId))).rows.length > 0;

/** fulfilling → shipped with the shipment; false when the order is not fulfilling (cancelled, shipped). */
export const markShipped = async (tx: Tx, orderId: string, shipment: Shipment): Promise<boolean> =>
  (await tx.execute(shipped(orderId, shipment))).rows.length > 0;

/** The status of an order as committed (for logs about a conditional update that did not apply). */
export const statusOf = async (db: Db | Tx, orderId: string): Promise<OrderStatus | undefined> => {
  const [row] = await db.select({ status: orders.status }).from(orders).where(eq(orders.orderId, orderId));
  return row?.status;
};

/** Orders at the warehouse, oldest first: what the tracking pass asks the warehouse about. */
export const fulfillingOrders = async (db: Db, limit: number): Promise<string[]> => {
  const rows = await db
    .select({ orderId: orders.orderId })
    .from(orders)
    .where(eq(orders.status, "fulfilling"))
    .orderBy(asc(orders.createdAt), asc(orders.orderId))
    .limit(limit);
  return rows.map((row) => row.orderId);
};
