import type { CancelReason } from "../../../domain/order-events.ts";

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
 */
export const decideOutcome = (steps: OrderSteps): FinalOutcome | null => {
  if (!steps.recordedAt || !steps.inventory || !steps.payment) return null;
  if (steps.inventory === "reserved" && steps.payment === "authorized") return { status: "confirmed" };
  return {
    status: "cancelled",
    reason: steps.inventory === "rejected" ? "out_of_stock" : "payment_declined",
  };
};
