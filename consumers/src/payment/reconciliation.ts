import { and, asc, eq, inArray, isNull, lt, sql } from "drizzle-orm";
import type { Db } from "../../../db/node-client.ts";
import { type PaymentRow, payments } from "../../../db/schema/index.ts";
import type { TaskContext } from "../runtime/types.ts";
import { requestActionOutcome, settleAuthorization } from "./payment-steps.ts";
import type { PaymentProcessor, ProcessorRecord } from "./processor.ts";

/**
 * Reconciliation of the payments whose authorization's answer the system never recorded, against
 * what the processor holds. Such a payment is `requested` (the answer was lost: a timeout, then the
 * event parked or dead-lettered) or `voided` without a processor reference (the order was cancelled
 * before the answer came, and a processor that finds authorizations only by their reference had
 * nothing to void). Once older than `afterMs`, each is looked up at the processor:
 *
 * - an authorization for a payment `voided` without reference is voided now (a captured one
 *   refunded): no cancelled order keeps money on a card;
 * - the answer of a `requested` payment is recorded and announced on `payment-results`, as the
 *   payment step would have (a conditional update: with the step's own retry, one of them records
 *   it); the saga decides (an order past its limit is cancelled, and this authorization voided);
 * - a processor that is still deciding, or has nothing for a `requested` payment, is asked again on
 *   a later pass (the saga's limit cancels the order meanwhile, which voids the payment);
 * - otherwise the payment is marked reconciled.
 *
 * Payments waiting for the shopper (3-D Secure) longer than `afterMs` are looked up too: should the
 * processor's event of their outcome have been lost, the outcome is recorded all the same.
 */

export const RECONCILE_TASK = "payment-reconciliation";

export interface ReconcileOptions {
  /** Only payments whose row has not changed for this long (PAYMENT_RECONCILE_AFTER_MS). */
  afterMs: number;
  /** How often a pass runs (PAYMENT_RECONCILE_INTERVAL_MS). */
  intervalMs: number;
  /** Payments looked up per pass. */
  batchSize?: number;
}

type Unreconciled = Pick<PaymentRow, "orderId" | "status" | "amountCents">;

/** Oldest first, over the partial index `payments_unreconciled_idx`. */
export const unreconciledPayments = async (db: Db, afterMs: number, limit: number): Promise<Unreconciled[]> =>
  db
    .select({ orderId: payments.orderId, status: payments.status, amountCents: payments.amountCents })
    .from(payments)
    .where(
      and(
        isNull(payments.processorRef),
        isNull(payments.reconciledAt),
        inArray(payments.status, ["requested", "voided"]),
        lt(payments.updatedAt, sql`now() - make_interval(secs => ${afterMs / 1_000})`),
      ),
    )
    .orderBy(asc(payments.updatedAt))
    .limit(limit);

const markReconciled = async (db: Db, orderId: string, status: PaymentRow["status"], ref: string | null) =>
  db
    .update(payments)
    .set({ processorRef: ref, reconciledAt: sql`now()`, updatedAt: sql`now()` })
    .where(and(eq(payments.orderId, orderId), eq(payments.status, status), isNull(payments.processorRef)));

export type Reconciled = "voided" | "refunded" | "recorded" | "reconciled" | "pending";

/** Compares one payment with the processor and repairs what it can; answers what it did. */
export const reconcileOne = async (
  ctx: TaskContext,
  processor: PaymentProcessor,
  payment: Unreconciled,
): Promise<Reconciled> => {
  const { orderId } = payment;
  const record: ProcessorRecord = await processor.lookup({ orderId, ref: null });
  const log = ctx.log.child({ orderId, ours: payment.status, theirs: record.state });
  const waiting = record.state === "pending" || record.state === "requires_action";
  if (payment.status === "requested" && (waiting || record.state === "none")) return "pending";
  if (record.state === "pending") return "pending";
  const ref = "ref" in record ? record.ref : null;
  if (payment.status === "voided") {
    if (record.state === "authorized" || record.state === "requires_action") {
      await processor.void({ orderId, ref });
      log.warn("voided an authorization the order's cancellation had not reached");
      await markReconciled(ctx.db, orderId, "voided", ref);
      return "voided";
    }
    if (record.state === "captured") {
      await processor.refund({ orderId, ref });
      log.error("refunded a capture of a cancelled order");
      await markReconciled(ctx.db, orderId, "voided", ref);
      return "refunded";
    }
    await markReconciled(ctx.db, orderId, "voided", ref);
    return "reconciled";
  }
  if (record.state === "authorized" || record.state === "declined") {
    const result =
      record.state === "authorized"
        ? ({ status: "authorized", ref: record.ref ?? "" } as const)
        : ({ status: "declined", code: record.code ?? "unknown" } as const);
    const order = { orderId, subtotalCents: payment.amountCents };
    const recorded = await ctx.transaction((tx) => settleAuthorization(tx, order, result));
    if (recorded) log.warn("recorded an authorization's answer the payment step never received");
    return recorded ? "recorded" : "reconciled";
  }
  // Captured, voided or refunded behind the saga's back (the processor's dashboard): recorded for
  // the operator, who decides; the order's own steps go on from what Postgres says.
  log.error("the processor holds a payment in a state the saga never asked for");
  await markReconciled(ctx.db, orderId, "requested", ref);
  return "reconciled";
};

/**
 * Payments waiting for the shopper longer than `afterMs`: their outcome is normally told by a webhook
 * (`payment-events`); this looks them up in case that was lost.
 */
export const waitingActions = async (db: Db, afterMs: number, limit: number): Promise<string[]> => {
  const rows = await db
    .select({ orderId: payments.orderId })
    .from(payments)
    .where(
      and(
        eq(payments.status, "requires_action"),
        lt(payments.actionRequestedAt, sql`now() - make_interval(secs => ${afterMs / 1_000})`),
      ),
    )
    .orderBy(asc(payments.actionRequestedAt))
    .limit(limit);
  return rows.map((row) => row.orderId);
};

/** Records the outcome of a shopper's step the processor knows and no webhook told. */
const settleAction = async (
  ctx: TaskContext,
  processor: PaymentProcessor,
  orderId: string,
): Promise<Reconciled> => {
  const outcome = await requestActionOutcome(ctx.db, processor, orderId);
  if (!outcome) return "pending";
  const order = { orderId, subtotalCents: outcome.amountCents };
  const recorded = await ctx.transaction((tx) => settleAuthorization(tx, order, outcome.result));
  if (recorded) ctx.log.warn({ orderId }, "recorded a shopper's action no processor event told of");
  return recorded ? "recorded" : "reconciled";
};

/** One pass; a lookup that fails is tried again on the next pass. */
export const reconcilePayments = async (
  ctx: TaskContext,
  processor: PaymentProcessor,
  options: ReconcileOptions,
): Promise<void> => {
  const limit = options.batchSize ?? 100;
  const found = await unreconciledPayments(ctx.db, options.afterMs, limit);
  const actions = await waitingActions(ctx.db, options.afterMs, limit);
  const work = [
    ...found.map((payment) => ({
      orderId: payment.orderId,
      run: () => reconcileOne(ctx, processor, payment),
    })),
    ...actions.map((orderId) => ({ orderId, run: () => settleAction(ctx, processor, orderId) })),
  ];
  const done = new Map<Reconciled | "failed", number>();
  for (const payment of work) {
    let outcome: Reconciled | "failed";
    try {
      outcome = await payment.run();
    } catch (error) {
      outcome = "failed";
      ctx.log.debug(
        { orderId: payment.orderId, err: error },
        "reconciliation lookup failed; asking again next pass",
      );
    }
    done.set(outcome, (done.get(outcome) ?? 0) + 1);
  }
  if (work.length > 0) ctx.log.info(Object.fromEntries(done), "payment reconciliation pass");
};
