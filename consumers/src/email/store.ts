import { and, eq, like, sql } from "drizzle-orm";
import { deadLetters, emails, orderLines, orders } from "../../../db/schema/index.ts";
import { TOPICS } from "../../../domain/topics.ts";
import { ORDERS_CONSUMER } from "../orders/name.ts";
import type { Tx } from "../runtime/types.ts";
import type { EmailKind, OrderForEmail } from "./render.ts";

/**
 * The order as the email needs it (undefined when it is not in Postgres), and whether it has an email
 * of one of `kinds` already: one statement (the order row, its lines aggregated, the email check).
 * The subqueries name the outer row's table: a bare column in a select list would bind to theirs.
 */
export const loadOrderForEmail = async (
  tx: Tx,
  orderId: string,
  kinds: readonly EmailKind[],
): Promise<{ order: OrderForEmail | undefined; hasEmail: boolean }> => {
  const line = sql`json_build_object('name', l.name, 'sku', l.sku, 'qty', l.qty, 'lineTotalCents', l.line_total_cents)`;
  const [row] = await tx
    .select({
      email: orders.email,
      shippingAddress: orders.shippingAddress,
      currency: orders.currency,
      subtotalCents: orders.subtotalCents,
      hasEmail: sql<boolean>`exists (select 1 from ${emails} as e
        where e.order_id = ${orders}.order_id and e.kind = any(${sql.param([...kinds])}::text[]))`,
      lines: sql<OrderForEmail["lines"]>`coalesce((select json_agg(${line} order by l.product_id)
        from ${orderLines} as l where l.order_id = ${orders}.order_id), '[]'::json)`,
    })
    .from(orders)
    .where(eq(orders.orderId, orderId));
  if (!row) return { order: undefined, hasEmail: false };
  return {
    hasEmail: row.hasEmail,
    order: {
      orderId,
      email: row.email,
      customerName: row.shippingAddress.name,
      currency: row.currency,
      subtotalCents: row.subtotalCents,
      lines: row.lines,
    },
  };
};

/**
 * Whether the orders consumer gave up on recording the order (its `order-placed` is a dead letter):
 * the saga cancelled it with no record, so there is no order to write about.
 */
export const orderNeverRecorded = async (tx: Tx, orderId: string): Promise<boolean> => {
  const [row] = await tx
    .select({ id: deadLetters.id })
    .from(deadLetters)
    .where(
      and(
        eq(deadLetters.consumer, ORDERS_CONSUMER),
        eq(deadLetters.key, orderId),
        like(deadLetters.topic, `%${TOPICS.orderPlaced}`),
      ),
    )
    .limit(1);
  return row !== undefined;
};

export interface StoredEmail {
  orderId: string;
  kind: EmailKind;
  toAddress: string;
  subject: string;
  /** The complete MIME message, exactly as it is (or would be) sent. */
  body: string;
  messageId: string;
}

/** Stores the email unless the order has one of its kind; the unique index makes this race-free. */
export const storeEmail = async (tx: Tx, email: StoredEmail): Promise<boolean> => {
  const inserted = await tx
    .insert(emails)
    .values(email)
    .onConflictDoNothing({ target: [emails.orderId, emails.kind] })
    .returning({ id: emails.id });
  return inserted.length > 0;
};
