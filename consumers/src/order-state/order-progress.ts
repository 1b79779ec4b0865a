import { and, eq, getTableColumns, sql } from "drizzle-orm";
import { orderProgress, orders } from "../../../db/schema/index.ts";
import type { Tx } from "../runtime/types.ts";
import { contradicts, decideOutcome, type FinalOutcome, type OrderSteps, outcomeOfOrder } from "./outcome.ts";

/**
 * The join of the order saga (see SAGA.md), in the caller's transaction: each step's outcome is
 * upserted into the order's `order_progress` row, and the transaction that completes the row (or
 * that the saga deadline runs) finalizes the order. Every call locks the order's `orders` row first,
 * then its progress row, always in that order, so events of one order and the deadline sweep queue
 * instead of deadlocking, and the last one sees every field; `finalized_at` makes finalizing happen
 * once.
 */

export type OrderStep =
  | { orderId: string; step: "recorded"; recordedAt: Date }
  | { orderId: string; step: "inventory"; outcome: "reserved" | "rejected" }
  | { orderId: string; step: "payment"; outcome: "authorized" | "declined" }
  /** The order has been pending longer than the limit: decide it with what is known. */
  | { orderId: string; step: "deadline" };

export type Advance =
  /** Some step is still unknown. */
  | { kind: "waiting" }
  /** This step completed the order: it is final now, at `finalizedAt`. */
  | { kind: "finalized"; outcome: FinalOutcome; finalizedAt: Date; orderRowUpdated: boolean }
  /**
   * The order was final before. `contradicts` when this step reported something the final outcome
   * did not account for (see outcome.ts): the outcome stands and is announced again, so the
   * compensations run again for what the late step did.
   */
  | { kind: "already_final"; outcome: FinalOutcome; finalizedAt: Date; contradicts: boolean };

/** The first outcome of a step wins; later deliveries of the step never change it. */
const keepFirst = (column: string) =>
  sql`coalesce(${sql.identifier("order_progress")}.${sql.identifier(column)}, excluded.${sql.identifier(column)})`;

const stepFields = (step: OrderStep) => {
  switch (step.step) {
    case "recorded":
      return { values: { recordedAt: step.recordedAt }, set: { recordedAt: keepFirst("recorded_at") } };
    case "inventory":
      return { values: { inventory: step.outcome }, set: { inventory: keepFirst("inventory") } };
    case "payment":
      return { values: { payment: step.outcome }, set: { payment: keepFirst("payment") } };
    case "deadline":
      return { values: {}, set: {} };
  }
};

/**
 * Upserts the step, answering the row as it is now and the steps it knew before, in ONE statement:
 * the `before` CTE reads the snapshot the statement started from, which the upsert does not change.
 */
const upsertStep = async (tx: Tx, step: OrderStep) => {
  const fields = stepFields(step);
  const before = tx
    .$with("before")
    .as(
      tx
        .select({ inventory: orderProgress.inventory, payment: orderProgress.payment })
        .from(orderProgress)
        .where(eq(orderProgress.orderId, step.orderId)),
    );
  const [row] = await tx
    .with(before)
    .insert(orderProgress)
    .values({ orderId: step.orderId, ...fields.values })
    .onConflictDoUpdate({ target: orderProgress.orderId, set: { ...fields.set, updatedAt: sql`now()` } })
    .returning({
      ...getTableColumns(orderProgress),
      inventoryBefore: sql<OrderSteps["inventory"]>`(select "inventory" from "before")`,
      paymentBefore: sql<OrderSteps["payment"]>`(select "payment" from "before")`,
    });
  if (!row) throw new Error(`order_progress upsert of ${step.orderId} returned no row`);
  const { inventoryBefore, paymentBefore, ...progress } = row;
  return { progress, before: { inventory: inventoryBefore, payment: paymentBefore } };
};

/** Records one step of the order and finalizes the order when it was the last one missing. */
export const advanceOrder = async (tx: Tx, step: OrderStep, now: Date = new Date()): Promise<Advance> => {
  const [order] = await tx
    .select({ status: orders.status, reason: orders.reason })
    .from(orders)
    .where(eq(orders.orderId, step.orderId))
    .for("update");
  const { progress, before } = await upsertStep(tx, step);
  if (progress.finalizedAt) {
    const outcome = (order && outcomeOfOrder(order)) ?? decideOutcome(progress, true);
    if (!outcome) throw new Error(`order ${step.orderId} is finalized without an outcome`);
    const late =
      step.step === "inventory" || step.step === "payment" ? contradicts(step, before, outcome) : false;
    return { kind: "already_final", outcome, finalizedAt: progress.finalizedAt, contradicts: late };
  }
  const outcome = decideOutcome(progress, step.step === "deadline");
  if (!outcome) return { kind: "waiting" };
  const updated = await tx
    .update(orders)
    .set({
      status: outcome.status,
      reason: outcome.status === "cancelled" ? outcome.reason : null,
      updatedAt: now,
    })
    .where(and(eq(orders.orderId, step.orderId), eq(orders.status, "pending")))
    .returning({ orderId: orders.orderId });
  await tx
    .update(orderProgress)
    .set({ finalizedAt: now, updatedAt: now })
    .where(eq(orderProgress.orderId, step.orderId));
  return { kind: "finalized", outcome, finalizedAt: now, orderRowUpdated: updated.length > 0 };
};
