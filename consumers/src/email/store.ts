import { and, eq, like, sql } from "drizzle-orm";
import { deadLetters, emails, orderLines, orders } from "../../../db/schema/index.ts";
import { TOPICS } from "../../../domain/topics.ts";
import { ORDERS_CONSUMER } from "../orders/name.ts";
import type { Tx } from "../runtime/types.ts";
import type { EmailKind, OrderForEmail } from "./render.ts";

/** What an email of an order needs to know first: the order, and whether it has one of `kinds`. */
export interface EmailRequest {
  orderId: string;
  kinds: readonly EmailKind[];
}

/**
 * For each request, the order as the email needs it (undefined when it is not in Postgres) and
 * whether it has an email of one of the request's kinds already: ONE statement for any number of
 * requests (the order rows, their lines aggregated, the email checks), one text for any batch.
 */
export const loadOrdersForEmail = async (
  tx: Tx,
  requests: readonly EmailRequest[],
): Promise<Array<{ order: OrderForEmail | undefined; hasEmail: boolean }>> => {
  const { rows } = await tx.execute<{
    order_id: string;
    email: string;
    shipping_address: { name: string };
    currency: string;
    subtotal_cents: string | number;
    has_email: boolean;
    lines: OrderForEmail["lines"];
  }>(sql`
    select r.order_id, o.email, o.shipping_address, o.currency, o.subtotal_cents,
      exists (select 1 from ${emails} as e
        where e.order_id = r.order_id and e.kind = any(string_to_array(r.kinds, ','))) as has_email,
      coalesce((select json_agg(json_build_object('name', l.name, 'sku', l.sku, 'options', l.options, 'qty', l.qty,
          'unitPriceCents', l.unit_price_cents) order by l.product_id, l.variant_id)
        from ${orderLines} as l where l.order_id = r.order_id), '[]'::json) as lines
    from unnest(${sql.param(requests.map((r) => r.orderId))}::varchar[],
      ${sql.param(requests.map((r) => r.kinds.join(",")))}::text[]) as r(order_id, kinds)
    join ${orders} as o on o.order_id = r.order_id`);
  const found = new Map(rows.map((row) => [row.order_id, row]));
  return requests.map(({ orderId }) => {
    const row = found.get(orderId);
    if (!row) return { order: undefined, hasEmail: false };
    return {
      hasEmail: row.has_email,
      order: {
        orderId,
        email: row.email,
        customerName: row.shipping_address.name,
        currency: row.currency,
        subtotalCents: Number(row.subtotal_cents),
        lines: row.lines,
      },
    };
  });
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

/**
 * Stores the emails, each unless its order has one of its kind (the unique index makes this
 * race-free), in one statement; answers how many were stored.
 */
export const storeEmails = async (tx: Tx, stored: readonly StoredEmail[]): Promise<number> => {
  if (stored.length === 0) return 0;
  const column = (pick: (email: StoredEmail) => string) => sql.param(stored.map(pick));
  const { rows } = await tx.execute(sql`
    insert into ${emails} (order_id, kind, to_address, subject, body, message_id)
    select * from unnest(${column((e) => e.orderId)}::varchar[], ${column((e) => e.kind)}::varchar[],
      ${column((e) => e.toAddress)}::text[], ${column((e) => e.subject)}::text[], ${column((e) => e.body)}::text[],
      ${column((e) => e.messageId)}::text[])
    on conflict (order_id, kind) do nothing
    returning id`);
  return rows.length;
};
