import { and, eq, inArray, isNull, or, sql } from "drizzle-orm";
import type { Db } from "../../../db/node-client.ts";
import { type PaymentRow, payments } from "../../../db/schema/index.ts";
import type { OrderPlaced } from "../../../domain/events.ts";
import type { Tx, TxContext } from "../runtime/types.ts";
import { reportStep, reportWaitingForShopper } from "../saga/join.ts";
import type { AuthorizeResult, PaymentProcessor } from "./processor.ts";

/**
 * The payment step of the order saga, in two halves per event. The processor is called first, in a
 * `prepare` step outside any transaction (no row lock is held while it answers, however slowly);
 * the `payments` row, the system's record of what the processor did, is written after, in the
 * event's transaction. Before the first authorization request the row is written as `requested`
 * (committed on its own), so an authorization whose answer is lost (a timeout) is one the system
 * knows it may hold, and the saga's payment deadline counts from `requested_at`. A retry asks the
 * processor again with the same idempotency key (the order id), which answers the first result
 * instead of charging twice; capturing or voiding twice is a no-op there too.
 */

const findPayment = async (db: Db | Tx, orderId: string): Promise<PaymentRow | undefined> => {
  const [row] = await db.select().from(payments).where(eq(payments.orderId, orderId));
  return row;
};

/**
 * Records that the order's authorization is being asked for (once: the first request's time stays)
 * and answers the payment row as it is.
 */
const markRequested = async (
  db: Db,
  order: Pick<OrderPlaced, "orderId" | "subtotalCents" | "currency">,
): Promise<Pick<PaymentRow, "status" | "processorRef">> => {
  const columns = { status: payments.status, processorRef: payments.processorRef };
  const [inserted] = await db
    .insert(payments)
    .values({
      orderId: order.orderId,
      status: "requested",
      amountCents: order.subtotalCents,
      currency: order.currency,
    })
    .onConflictDoNothing()
    .returning(columns);
  if (inserted) return inserted;
  const [found] = await db.select(columns).from(payments).where(eq(payments.orderId, order.orderId));
  if (!found) throw new Error(`payment of ${order.orderId} neither recorded nor found`);
  return found;
};

/**
 * Asks the processor to authorize the order's subtotal, unless the order's payment has an answer
 * recorded already (`null`: its result went out in the transaction that recorded it). A payment
 * voided before its authorization was answered (the saga's deadline cancelled the order) is asked
 * again, with the same idempotency key: only the answer tells whether an authorization exists to void.
 */
export const requestAuthorization = async (
  db: Db,
  processor: PaymentProcessor,
  order: Pick<OrderPlaced, "orderId" | "subtotalCents" | "currency" | "paymentToken">,
): Promise<AuthorizeResult | null> => {
  const payment = await markRequested(db, order);
  const unanswered =
    payment.status === "requested" || (payment.status === "voided" && payment.processorRef === null);
  if (!unanswered) return null;
  return processor.authorize({
    orderId: order.orderId,
    amountCents: order.subtotalCents,
    currency: order.currency,
    token: order.paymentToken,
  });
};

/**
 * Records the processor's answer on the `requested` row (or, for the outcome of the shopper's 3-D
 * Secure step, on the `requires_action` row); false when a concurrent duplicate recorded it first. An
 * authorization answered while a cancellation voided the payment (the void may have come before the
 * authorization existed) is recorded too: the order's cancellation is then announced again and voids
 * it (the saga's late-step rule).
 */
export const recordAuthorization = async (
  tx: Tx,
  order: Pick<OrderPlaced, "orderId">,
  result: AuthorizeResult,
): Promise<boolean> => {
  const waiting = or(eq(payments.status, "requested"), eq(payments.status, "requires_action"));
  const answerable =
    result.status === "authorized"
      ? or(waiting, and(eq(payments.status, "voided"), isNull(payments.processorRef)))
      : result.status === "declined"
        ? waiting
        : eq(payments.status, "requested");
  const recorded = await tx
    .update(payments)
    .set({
      status: result.status,
      processorRef: result.status === "declined" ? null : result.ref,
      declineCode: result.status === "declined" ? result.code : null,
      clientSecret: result.status === "requires_action" ? result.clientSecret : null,
      ...(result.status === "requires_action" ? { actionRequestedAt: sql`now()` } : {}),
      answeredAt: sql`coalesce(${payments.answeredAt}, now())`,
      updatedAt: sql`now()`,
    })
    .where(and(eq(payments.orderId, order.orderId), answerable))
    .returning({ orderId: payments.orderId });
  return recorded.length > 0;
};

/**
 * Records the processor's answer (recordAuthorization) and reports it to the saga's join in the same
 * transaction (a 3-D Secure step asked for is shown on the order's status record instead); false,
 * reporting nothing, when it was recorded before.
 */
export const settleAuthorization = async (
  ctx: TxContext,
  order: Pick<OrderPlaced, "orderId" | "subtotalCents">,
  result: AuthorizeResult,
): Promise<boolean> => {
  if (!(await recordAuthorization(ctx.tx, order, result))) return false;
  if (result.status === "requires_action")
    reportWaitingForShopper(ctx, order.orderId, { clientSecret: result.clientSecret });
  else reportStep(ctx, { orderId: order.orderId, step: "payment", outcome: result.status });
  return true;
};

/**
 * For a payment waiting for the shopper (3-D Secure), what the processor holds now, as the answer to
 * record: authorized, or declined (the action failed, or the processor gave up on it); null while the
 * shopper has not finished, or when the payment is not waiting (an event about it changes nothing).
 */
export const requestActionOutcome = async (
  db: Db,
  processor: PaymentProcessor,
  orderId: string,
): Promise<{ result: AuthorizeResult; amountCents: number } | null> => {
  const payment = await findPayment(db, orderId);
  if (payment?.status !== "requires_action") return null;
  const record = await processor.lookup({ orderId, ref: payment.processorRef });
  const ref = "ref" in record ? (record.ref ?? payment.processorRef) : payment.processorRef;
  if (record.state === "authorized" && ref) {
    return { result: { status: "authorized", ref }, amountCents: payment.amountCents };
  }
  if (record.state === "declined" || record.state === "voided") {
    const code = record.code ?? (record.state === "voided" ? "canceled" : "authentication_failed");
    return { result: { status: "declined", code }, amountCents: payment.amountCents };
  }
  return null;
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
  await processor.capture({ orderId, ref: payment.processorRef });
  return "captured";
};

/**
 * Compensation of the authorization, for a cancelled order: voids it at the processor, or refunds it
 * when it was captured already (a merchant cancelled a confirmed order before it shipped). An
 * authorization asked for and not answered yet (`requested`) is voided at the processor too (a no-op
 * where none exists yet) and the row is marked voided, so the request is not sent again; should its
 * answer still say authorized, it is recorded and the order's cancellation announced again, which
 * voids it once more. One waiting for the shopper (`requires_action`) is cancelled at the processor,
 * so the shopper can no longer finish it. Nothing to do for a declined, already voided or refunded,
 * or missing payment.
 */
export const requestVoid = async (
  db: Db,
  processor: PaymentProcessor,
  orderId: string,
): Promise<Settlement> => {
  const payment = await findPayment(db, orderId);
  if (payment?.status === "captured") {
    await processor.refund({ orderId, ref: payment.processorRef });
    return "refunded";
  }
  if (!payment || !["authorized", "requested", "requires_action"].includes(payment.status)) {
    return "nothing_to_do";
  }
  await processor.void({ orderId, ref: payment.processorRef });
  return "voided";
};

/** The states a settlement moves a payment from. */
const SETTLED_FROM: Record<Exclude<Settlement, "nothing_to_do">, PaymentRow["status"][]> = {
  captured: ["authorized"],
  voided: ["authorized", "requested", "requires_action"],
  refunded: ["captured"],
};

/**
 * Records a settlement the processor made: authorized → captured or voided, requested → voided,
 * captured → refunded (only from those states, so a repeat changes nothing).
 */
export const recordSettlement = async (tx: Tx, orderId: string, settlement: Settlement): Promise<void> => {
  if (settlement === "nothing_to_do") return;
  await tx
    .update(payments)
    .set({ status: settlement, updatedAt: sql`now()` })
    .where(and(eq(payments.orderId, orderId), inArray(payments.status, SETTLED_FROM[settlement])));
};
