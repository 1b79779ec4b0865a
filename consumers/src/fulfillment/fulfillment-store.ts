import { and, asc, eq, inArray, sql } from "drizzle-orm";
import type { Db } from "../../../db/node-client.ts";
import { markFulfilling as fulfilling, markShipped as shipped } from "../../../db/order-writes.ts";
import { orderLines, orders, payments } from "../../../db/schema/index.ts";
import type { ShippingAddress } from "../../../domain/events.ts";
import type { OrderStatus, Shipment } from "../../../domain/order-events.ts";
import type { Tx } from "../runtime/types.ts";
import type { FulfillmentRequest } from "./provider.ts";

/**
 * The fulfillment step's Postgres side. Every change is a conditional update of the order's row
 * (`where status = …`), so of a merchant's cancellation and a warehouse's shipment, whichever
 * commits first on the row decides: a shipped order is never cancelled, a cancelled one never
 * recorded as shipped.
 */

/** An order as the warehouse calls need it: its status, whether its payment is captured, the request. */
export interface FulfillmentOrder {
  status: OrderStatus;
  captured: boolean;
  request: FulfillmentRequest;
}

/**
 * The orders' status, whether their payment is captured, and what the warehouse needs, read without
 * locks (before a warehouse call), in one statement for any number of orders. An order Postgres does
 * not have is absent from the answer.
 */
export const loadFulfillmentRequests = async (
  db: Db,
  orderIds: readonly string[],
): Promise<Map<string, FulfillmentOrder>> => {
  if (orderIds.length === 0) return new Map();
  const { rows } = await db.execute<{
    order_id: string;
    status: OrderStatus;
    shipping_address: ShippingAddress;
    captured: boolean;
    items: FulfillmentRequest["items"];
  }>(sql`
    select o.order_id, o.status, o.shipping_address,
      exists (select 1 from ${payments} as p where p.order_id = o.order_id and p.status = 'captured') as captured,
      coalesce((select json_agg(json_build_object('productId', l.product_id, 'variantId', l.variant_id,
          'sku', l.sku, 'name', l.name, 'qty', l.qty) order by l.product_id, l.variant_id)
        from ${orderLines} as l where l.order_id = o.order_id), '[]') as items
    from ${orders} as o
    where o.order_id = any(${sql.param([...orderIds])}::varchar[])`);
  return new Map(
    rows.map((row) => [
      row.order_id,
      {
        status: row.status,
        captured: row.captured,
        request: { orderId: row.order_id, shippingAddress: row.shipping_address, items: row.items },
      },
    ]),
  );
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

/** Postgres's text of a timestamp (raw results leave it as text) as the ISO form the API answers. */
const iso = (at: string): string => new Date(at).toISOString();

/**
 * confirmed → fulfilling for each of the orders still confirmed (one statement); answers the moved
 * ones with the time of the change.
 */
export const markFulfilling = async (tx: Tx, orderIds: readonly string[]): Promise<Map<string, string>> => {
  if (orderIds.length === 0) return new Map();
  const { rows } = await tx.execute<{ order_id: string; updated_at: string }>(fulfilling(orderIds));
  return new Map(rows.map((row) => [row.order_id, iso(row.updated_at)]));
};

/**
 * fulfilling → shipped with its shipment for each of the orders still fulfilling (one statement);
 * answers the moved ones with the time of the change and the shipment as recorded.
 */
export const markShipped = async (
  tx: Tx,
  orders: readonly { orderId: string; shipment: Shipment }[],
): Promise<Map<string, { updatedAt: string; shipment: Shipment }>> => {
  if (orders.length === 0) return new Map();
  const { rows } = await tx.execute<{
    order_id: string;
    updated_at: string;
    carrier: string;
    tracking_number: string;
    shipped_at: string;
  }>(shipped(orders));
  return new Map(
    rows.map((row) => [
      row.order_id,
      {
        updatedAt: iso(row.updated_at),
        shipment: {
          carrier: row.carrier,
          trackingNumber: row.tracking_number,
          shippedAt: iso(row.shipped_at),
        },
      },
    ]),
  );
};

/** The statuses of orders as committed (for logs about conditional updates that did not apply). */
export const statusesOf = async (
  db: Db | Tx,
  orderIds: readonly string[],
): Promise<Map<string, OrderStatus>> => {
  if (orderIds.length === 0) return new Map();
  const rows = await db
    .select({ orderId: orders.orderId, status: orders.status })
    .from(orders)
    .where(inArray(orders.orderId, [...orderIds]));
  return new Map(rows.map((row) => [row.orderId, row.status]));
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
