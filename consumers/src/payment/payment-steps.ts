import { and, eq, sql } from "drizzle-orm";
import { type PaymentRow, payments } from "../../../db/schema/index.ts";
import type { OrderPlaced } from "../../../domain/events.ts";
import type { Tx } from "../runtime/types.ts";
import type { AuthorizeResult, PaymentProcessor } from "./processor.ts";

/**
 * The payment step of the order saga, in the caller's transaction. The `payments` row is the
 * system's record of what the processor did; the processor call comes first and the row after, so a
 * failure between them rolls the row back and the retry asks the processor again with the same
 * idempotency key (the order id), which answers the first result instead of charging twice.
 */

const findPayment = async (tx: Tx, orderId: string, lock: boolean): Promise<PaymentRow | undefined> => {
  const query = tx.select().from(payments).where(eq(payments.orderId, orderId));
  const [row] = lock ? await query.for("update") : await query;
  return row;
};

const moveStatus = (tx: Tx, orderId: string, from: PaymentRow["status"], to: PaymentRow["status"]) =>
  tx
    .update(payments)
    .set({ status: to, updatedAt: sql`now()` })
    .where(and(eq(payments.orderId, orderId), eq(payments.status, from)));

/**
 * Authorizes the order's subtotal and records the outcome. Returns it, or `null` when the order's
 * payment was recorded already (its result went out in the transaction that recorded it).
 */
export const authorizePayment = async (
  tx: Tx,
  processor: PaymentProcessor,
  order: Pick<OrderPlaced, "orderId" | "subtotalCents" | "currency" | "paymentToken">,
): Promise<AuthorizeResult | null> => {
  if (await findPayment(tx, order.orderId, false)) return null;
  const result = await processor.authorize({
    orderId: order.orderId,
    amountCents: order.subtotalCents,
    currency: order.currency,
    token: order.paymentToken,
  });
  const recorded = await tx
    .insert(payments)
    .values({
      orderId: order.orderId,
      status: result.status,
      amountCents: order.subtotalCents,
      currency: order.currency,
      processorRef: result.status === "authorized" ? result.ref : null,
      declineCode: result.status === "declined" ? result.code : null,
    })
    .onConflictDoNothing()
    .returning({ orderId: payments.orderId });
  // A concurrent duplicate of this order recorded the same (idempotent) result first.
  return recorded.length > 0 ? result : null;
};

export type Settlement = "captured" | "voided" | "nothing_to_do";

/** Takes the money of a confirmed order. Capturing twice is a no-op. */
export const capturePayment = async (
  tx: Tx,
  processor: PaymentProcessor,
  orderId: string,
): Promise<Settlement> => {
  const payment = await findPayment(tx, orderId, true);
  if (payment?.status === "captured") return "nothing_to_do";
  if (payment?.status !== "authorized") {
    throw new Error(`order ${orderId} is confirmed but its payment is ${payment?.status ?? "missing"}`);
  }
  await processor.capture(orderId);
  await moveStatus(tx, orderId, "authorized", "captured");
  return "captured";
};

/**
 * Compensation of `authorizePayment` for a cancelled order: voids the authorization. Nothing to do
 * for a declined, already voided or missing payment.
 */
export const voidPayment = async (
  tx: Tx,
  processor: PaymentProcessor,
  orderId: string,
): Promise<Settlement> => {
  const payment = await findPayment(tx, orderId, true);
  if (payment?.status === "captured") {
    throw new Error(`order ${orderId} is cancelled but its payment was captured; it needs a refund`);
  }
  if (payment?.status !== "authorized") return "nothing_to_do";
  await processor.void(orderId);
  await moveStatus(tx, orderId, "authorized", "voided");
  return "voided";
};
