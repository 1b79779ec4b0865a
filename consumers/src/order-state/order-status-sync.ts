import { asc, eq } from "drizzle-orm";
import type { Db } from "../../../db/node-client.ts";
import { orderFromRows } from "../../../db/orders.ts";
import { orderLines, orders, payments } from "../../../db/schema/index.ts";
import type { Order } from "../../../domain/orders.ts";
import type { OrderStatusCache, StatusWrite } from "./order-status-cache.ts";

/** The order as Postgres has it (called after a commit, so it sees the committed state). */
export const loadOrder = async (db: Db, orderId: string): Promise<Order | null> => {
  const [row] = await db.select().from(orders).where(eq(orders.orderId, orderId));
  if (!row) return null;
  const lines = await db
    .select()
    .from(orderLines)
    .where(eq(orderLines.orderId, orderId))
    .orderBy(asc(orderLines.productId), asc(orderLines.variantId));
  const [payment] = await db
    .select({ status: payments.status, clientSecret: payments.clientSecret })
    .from(payments)
    .where(eq(payments.orderId, orderId));
  return orderFromRows(row, lines, payment);
};

/**
 * Rewrites the order's status record in Redis with what Postgres says now (status, reason,
 * shipment), creating it when missing. For the status effect of steps after the saga (fulfillment,
 * a merchant's cancellation); idempotent, and never moves the record back (order-status-cache.ts).
 */
export const syncOrderStatus = async (
  cache: OrderStatusCache,
  db: Db,
  orderId: string,
): Promise<StatusWrite> => {
  const order = await loadOrder(db, orderId);
  if (!order) return "missing";
  return cache.writeStatus(
    orderId,
    {
      status: order.status,
      ...(order.reason ? { reason: order.reason } : {}),
      ...(order.shipment ? { shipment: order.shipment } : {}),
      ...(order.payment ? { payment: order.payment } : {}),
      updatedAt: order.updatedAt,
    },
    async () => order,
  );
};
