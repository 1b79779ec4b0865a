import { sql } from "drizzle-orm";
import type { Db } from "../../db/node-client.ts";
import { redisClient } from "../../workers/platform/clients.ts";

/** What Postgres holds about a set of orders, for outcome checks. */
export interface OrderRecords {
  orders: Map<string, { status: string; reason: string | null }>;
  payments: Map<string, string>;
  emails: Map<string, number>;
  heldReservations: number;
}

const rowsOf = async <T extends Record<string, unknown>>(
  db: Db,
  query: ReturnType<typeof sql>,
): Promise<T[]> => (await db.execute<T>(query)).rows as T[];

export const readRecords = async (db: Db, orderIds: readonly string[]): Promise<OrderRecords> => {
  const ids = sql`(${sql.join(
    orderIds.map((id) => sql`${id}`),
    sql`, `,
  )})`;
  const orders = await rowsOf<{ order_id: string; status: string; reason: string | null }>(
    db,
    sql`select order_id, status, reason from orders where order_id in ${ids}`,
  );
  const payments = await rowsOf<{ order_id: string; status: string }>(
    db,
    sql`select order_id, status from payments where order_id in ${ids}`,
  );
  const emails = await rowsOf<{ order_id: string; n: number }>(
    db,
    sql`select order_id, count(*)::int as n from emails where order_id in ${ids} group by order_id`,
  );
  const held = await rowsOf<{ n: number }>(
    db,
    sql`select count(*)::int as n from stock_reservations where order_id in ${ids} and status = 'held'`,
  );
  return {
    orders: new Map(orders.map((r) => [r.order_id, { status: r.status, reason: r.reason }])),
    payments: new Map(payments.map((r) => [r.order_id, r.status])),
    emails: new Map(emails.map((r) => [r.order_id, r.n])),
    heldReservations: held[0]?.n ?? 0,
  };
};

/** Stock of record of a product, straight from Postgres. */
export const readStock = async (
  db: Db,
  productId: string,
): Promise<{ available: number; reserved: number }> => {
  const [row] = await rowsOf<{ available: number; reserved: number }>(
    db,
    sql`select available, reserved from inventory where variant_id = ${productId}`,
  );
  if (!row) throw new Error(`no inventory row for ${productId}`);
  return row;
};

/** Counts values in a map. */
export const tally = <V>(values: Iterable<V>): Map<V, number> => {
  const counts = new Map<V, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  return counts;
};

/** The state Redis as the workers reach it (REST), raw values: to read the edge stock counter. */
export const stateRedis = (stack: { redisRestUrl: string; redisRestToken: string }) =>
  redisClient(
    {
      UPSTASH_REDIS_REST_URL: stack.redisRestUrl,
      UPSTASH_REDIS_REST_TOKEN: stack.redisRestToken,
    } as Parameters<typeof redisClient>[0],
    { raw: true },
  );
