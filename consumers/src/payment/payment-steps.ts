import { and, eq, sql } from "drizzle-orm";
import type { Db } from "../../../db/node-client.ts";
import { type PaymentRow, payments } from "../../../db/schema/index.ts";
import type { OrderPlaced } from "../../../domain/events.ts";
import type { Tx } from "../runtime/types.ts";
import type { AuthorizeResult, PaymentProcessor } from "./processor.ts";

/**
 * The payment step of the order saga, in two halves per event. The processor is called first, in a
 * `prepare` step outside any transaction (no row lock is held while it answers, however slowly);
 * the `payments` row, the system's record of what the processor did, is written after, in the
 * event's transaction. A failure between the two leaves no row, and the retry asks the processor
 * again with the same idempotency key (the order id), which answers the first result instead of
 * charging twice; capturing or voiding twice is a no-op there too.
 */

const findPayment = async (db: Db | Tx, orderId: string): Promise<PaymentRow | undefined> => {
  const [row] = await db.select().from(payments).where(eq(payments.orderId, orderId));
  return row;
};

/**
 * Asks the processor to authorize the order's subtotal, unless the order's payment is recorded
 * already (`null`: its result went out in the transaction that recorded it).
 */
export const requestAuthorization = async (
  db: Db,
  processor: PaymentProcessor,
  order: Pick<OrderPlaced, "orderId" | "subtotalCents" | "currency" | "paymentToken">,
): Promise<AuthorizeResult | null> => {
  if (await findPayment(db, order.orderId)) return null;
  return processor.authorize({
    orderId: order.orderId,
    amountCents: order.subtotalCents,
    currency: order.currency,
    token: order.paymentToken,
  });
};

/** Records the processor's answer; false when a concurrent duplicate recorded the same answer first. */
export const recordAuthorization = async (
  tx: Tx,
  order: Pick<OrderPlaced, "orderId" | "subtotalCents" | "currency">,
  result: AuthorizeResult,
): Promise<boolean> => {
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
  return recorded.length > 0;
};

export type Settlement = "captured" | "voided" | "refunded" | "nothing_to_do";

/** Takes the money of a confirmed order at the processor. Capturing twice is a no-op. */
export const requestCapture = async (
  db: Db,
  processor: PaymentProcessor,
  orderId: string,
): Promise<Settlement> => {
  const payment = await findPayment(db, orderId);
  if (payment?.status === "captured") return "nothing_to_do";
  if (payment?.status !== "authorized") {
    throw new Error(`order ${orderId} is confirmed but its payment is ${payment?.status ?? "missing"}`);
  }
  await processor.capture(orderId);
  return "captured";
};

/**
 * Compensation of the authorization, for a cancelled order: voids it at the processor, or refunds it
 * when it was captured already (a merchant cancelled a confirmed order before it shipped). Nothing to
 * do for a declined, already voided or refunded, or missing payment (an authorization recorded later
 * is announced, and the order-state step answers it with the cancellation again).
 */
export const requestVoid = async (
  db: Db,
  processor: PaymentProcessor,
  orderId: string,
): Promise<Settlement> => {
  const payment = await findPayment(db, orderId);
  if (payment?.status === "captured") {
    await processor.refund(orderId);
    return "refunded";
  }
  if (payment?.status !== "authorized") return "nothing_to_do";
  await processor.void(orderId);
  return "voided";
};

/**
 * Records a settlement the processor made: authorized → captured or voided, captured → refunded
 * (only from those states, so a repeat changes nothing).
 */
export const recordSettlement = async (tx: Tx, orderId: string, settlement: Settlement): Promise<void> => {
  if (settlement === "nothing_to_do") return;
  const from = settlement === "refunded" ? "captured" : "authorized";
  await tx
    .update(payments)
    .set({ status: settlement, updatedAt: sql`now()` })
    .where(and(eq(payments.orderId, orderId), eq(payments.status, from)));
};
