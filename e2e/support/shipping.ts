import { sql } from "drizzle-orm";
import type { Db } from "../../db/node-client.ts";
import { TOPICS } from "../../domain/topics.ts";

/** What Postgres holds about an order's fulfillment, for the fulfillment drills. */
export interface ShippingRecord {
  status: string;
  reason: string | null;
  trackingNumber: string | null;
  /** Emails of the order by kind. */
  emails: Record<string, number>;
  payment: string | null;
  /** order-shipped events the fulfillment consumer put in the outbox (on whatever topic prefix). */
  shipments: number;
}

export const readShipping = async (db: Db, orderId: string): Promise<ShippingRecord> => {
  const [row] = (
    await db.execute<{
      status: string;
      reason: string | null;
      tracking_number: string | null;
      payment: string | null;
      shipments: number;
    }>(sql`
      select o.status, o.reason, o.tracking_number,
        (select status from payments p where p.order_id = o.order_id) as payment,
        (select count(*)::int from outbox x
          where x.key = o.order_id and x.topic like ${`%${TOPICS.orderShipped}`}) as shipments
      from orders o where o.order_id = ${orderId}`)
  ).rows;
  if (!row) throw new Error(`order ${orderId} is not in Postgres`);
  const emails = await db.execute<{ kind: string; n: number }>(
    sql`select kind, count(*)::int as n from emails where order_id = ${orderId} group by kind`,
  );
  return {
    status: row.status,
    reason: row.reason,
    trackingNumber: row.tracking_number,
    payment: row.payment,
    shipments: row.shipments,
    emails: Object.fromEntries(emails.rows.map((e) => [e.kind, e.n])),
  };
};

/** Stock of record of a product with its shipped units. */
export const readShippedStock = async (
  db: Db,
  productId: string,
): Promise<{ available: number; reserved: number; shipped: number }> => {
  const [row] = (
    await db.execute<{ available: number; reserved: number; shipped: number }>(
      sql`select available, reserved, shipped from inventory where variant_id = ${productId}`,
    )
  ).rows;
  if (!row) throw new Error(`no inventory row for ${productId}`);
  return row;
};
