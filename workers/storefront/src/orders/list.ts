import { and, asc, desc, eq, inArray, sql } from "drizzle-orm";
import { z } from "zod";
import { orderFromRows } from "../../../../db/orders.ts";
import { orderLines, orders, payments } from "../../../../db/schema/index.ts";
import { AppError } from "../../../../domain/errors.ts";
import { OrderIdSchema } from "../../../../domain/events.ts";
import type { OrderStatus } from "../../../../domain/order-events.ts";
import { type EdgeDb, withDb } from "../../../platform/clients.ts";
import type { OrdersPage, OrdersQuery } from "./schemas.ts";

/**
 * Orders from Postgres (a customer's, or all of them or those of one status for operators), newest
 * first, paged by keyset over (created_at, order_id). The cursor carries created_at to the
 * microsecond (as Postgres has it), so no order is skipped or repeated however many share a
 * millisecond. Orders show once the orders consumer has recorded them.
 */
const CursorSchema = z.object({
  t: z.string().regex(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/),
  id: OrderIdSchema,
});
type Cursor = z.infer<typeof CursorSchema>;

const encodeCursor = (cursor: Cursor): string =>
  btoa(JSON.stringify(cursor)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");

const badCursor = () =>
  new AppError("invalid_request", "cursor is not one this API issued", { details: [{ path: ["cursor"] }] });

const decodeCursor = (text: string): Cursor => {
  let parsed: unknown;
  try {
    parsed = JSON.parse(atob(text.replace(/-/g, "+").replace(/_/g, "/")));
  } catch (error) {
    throw new AppError("invalid_request", "cursor is not one this API issued", {
      cause: error,
      details: [{ path: ["cursor"] }],
    });
  }
  const cursor = CursorSchema.safeParse(parsed);
  if (!cursor.success) throw badCursor();
  return cursor.data;
};

/** created_at exactly, as ISO 8601 UTC with microseconds. */
const createdAtText = sql<string>`to_char(${orders.createdAt} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

export interface OrdersFilter {
  customerId?: string | undefined;
  status?: OrderStatus | undefined;
}

export const listOrders = async (
  db: EdgeDb,
  filter: OrdersFilter,
  query: OrdersQuery,
): Promise<OrdersPage> => {
  const after = query.cursor ? decodeCursor(query.cursor) : undefined;
  return withDb("the order list", async () => {
    const rows = await db
      .select({
        orderId: orders.orderId,
        status: orders.status,
        reason: orders.reason,
        email: orders.email,
        subtotalCents: orders.subtotalCents,
        currency: orders.currency,
        placedAt: orders.placedAt,
        updatedAt: orders.updatedAt,
        carrier: orders.carrier,
        trackingNumber: orders.trackingNumber,
        shippedAt: orders.shippedAt,
        createdAt: createdAtText,
        payment: { status: payments.status, clientSecret: payments.clientSecret },
      })
      .from(orders)
      .leftJoin(payments, eq(payments.orderId, orders.orderId))
      .where(
        and(
          filter.customerId ? eq(orders.customerId, filter.customerId) : undefined,
          filter.status ? eq(orders.status, filter.status) : undefined,
          after
            ? sql`(${orders.createdAt}, ${orders.orderId}) < (${after.t}::timestamptz, ${after.id})`
            : undefined,
        ),
      )
      .orderBy(desc(orders.createdAt), desc(orders.orderId))
      .limit(query.limit + 1);
    const page = rows.slice(0, query.limit);
    const lines = page.length
      ? await db
          .select()
          .from(orderLines)
          .where(
            inArray(
              orderLines.orderId,
              page.map((row) => row.orderId),
            ),
          )
          .orderBy(asc(orderLines.orderId), asc(orderLines.productId), asc(orderLines.variantId))
      : [];
    const last = page.at(-1);
    return {
      items: page.map((row) =>
        orderFromRows(
          row,
          lines.filter((line) => line.orderId === row.orderId),
          row.payment ?? undefined,
        ),
      ),
      nextCursor:
        rows.length > query.limit && last ? encodeCursor({ t: last.createdAt, id: last.orderId }) : null,
    };
  });
};
