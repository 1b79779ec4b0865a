import type { CancelReason, OrderStatus } from "../../../domain/order-events.ts";

/** What the order-state consumer knows of an order's steps (a row of `order_progress`). */
export interface OrderSteps {
  recordedAt: Date | null;
  inventory: "reserved" | "rejected" | null;
  payment: "authorized" | "declined" | null;
}

export type FinalOutcome = { status: "confirmed" } | { status: "cancelled"; reason: CancelReason };

/**
 * The final state of an order once all three steps are known, else `null`: confirmed when its stock
 * is held and its payment authorized; otherwise cancelled, for missing stock first.
 *
 * Past the saga deadline (`deadlinePassed`) the order is decided with what is known: all three known
 * decide as usual; otherwise a known failure is the reason, and else the payment timed out (the stock
 * step answers within moments; the processor is what is slow). An order never recorded is never
 * confirmed: nothing could fulfil it, so its hold and authorization are given back.
 */
export const decideOutcome = (steps: OrderSteps, deadlinePassed = false): FinalOutcome | null => {
  const complete = steps.recordedAt && steps.inventory && steps.payment;
  if (!complete && !deadlinePassed) return null;
  if (steps.recordedAt && steps.inventory === "reserved" && steps.payment === "authorized") {
    return { status: "confirmed" };
  }
  if (steps.inventory === "rejected") return { status: "cancelled", reason: "out_of_stock" };
  if (steps.payment === "declined") return { status: "cancelled", reason: "payment_declined" };
  return { status: "cancelled", reason: "payment_timeout" };
};

/** The final outcome an `orders` row records, or null while it is pending. */
export const outcomeOfOrder = (row: {
  status: OrderStatus;
  reason: CancelReason | null;
}): FinalOutcome | null => {
  // Fulfilling and shipped orders were confirmed by the saga; fulfillment took them on from there.
  if (row.status === "confirmed" || row.status === "fulfilling" || row.status === "shipped") {
    return { status: "confirmed" };
  }
  if (row.status === "cancelled") return { status: "cancelled", reason: row.reason ?? "payment_timeout" };
  return null;
};

/** A step's report: what the inventory or payment step did (or could not do). */
export type StepReport =
  | { step: "inventory"; outcome: "reserved" | "rejected" }
  | { step: "payment"; outcome: "authorized" | "declined" };

/**
 * Whether a step reported after the order became final contradicts that final outcome, so the
 * outcome must be announced again for the compensations to undo what the step did:
 * - a second, different report of a step (a late duplicate): the first report decided the order;
 * - the first report of a step that the saga deadline did not wait for: a hold or an authorization
 *   on a cancelled order (or a failure on a confirmed one).
 */
export const contradicts = (
  report: StepReport,
  before: Pick<OrderSteps, "inventory" | "payment"> | undefined,
  final: FinalOutcome,
): boolean => {
  const known = report.step === "inventory" ? before?.inventory : before?.payment;
  if (known) return known !== report.outcome;
  const succeeded = report.outcome === "reserved" || report.outcome === "authorized";
  return succeeded !== (final.status === "confirmed");
};
