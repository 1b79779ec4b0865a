import { and, asc, eq, inArray } from "drizzle-orm";
import { emails, orderLines, orders } from "../../../db/schema/index.ts";
import type { Tx } from "../runtime/types.ts";
import type { EmailKind, OrderForEmail } from "./render.ts";

/** The order as the email needs it, or undefined when it is not in Postgres. */
export const loadOrderForEmail = async (tx: Tx, orderId: string): Promise<OrderForEmail | undefined> => {
  const [order] = await tx.select().from(orders).where(eq(orders.orderId, orderId));
  if (!order) return undefined;
  const lines = await tx
    .select({
      name: orderLines.name,
      sku: orderLines.sku,
      qty: orderLines.qty,
      lineTotalCents: orderLines.lineTotalCents,
    })
    .from(orderLines)
    .where(eq(orderLines.orderId, orderId))
    .orderBy(asc(orderLines.productId));
  return {
    orderId,
    email: order.email,
    customerName: order.shippingAddress.name,
    currency: order.currency,
    subtotalCents: order.subtotalCents,
    lines,
  };
};

/** Whether the order has an email of one of `kinds` already. */
export const hasEmail = async (tx: Tx, orderId: string, kinds: readonly EmailKind[]): Promise<boolean> => {
  const found = await tx
    .select({ id: emails.id })
    .from(emails)
    .where(and(eq(emails.orderId, orderId), inArray(emails.kind, [...kinds])))
    .limit(1);
  return found.length > 0;
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
