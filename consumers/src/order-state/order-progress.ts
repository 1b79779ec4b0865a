import { and, eq, sql } from "drizzle-orm";
import { orderProgress, orders } from "../../../db/schema/index.ts";
import type { Tx } from "../runtime/types.ts";
import { decideOutcome, type FinalOutcome, type OrderSteps } from "./outcome.ts";

/**
 * The join of the order saga, in the caller's transaction: each step's outcome is upserted into the
 * order's `order_progress` row, and the transaction that completes the row finalizes the order. The
 * upsert locks the row, so events of one order arriving concurrently (they come from three topics)
 * queue and the last one sees every field; `finalized_at` makes finalizing happen once.
 */

export type OrderStep =
  | { orderId: string; step: "recorded"; recordedAt: Date }
  | { orderId: string; step: "inventory"; outcome: "reserved" | "rejected" }
  | { orderId: string; step: "payment"; outcome: "authorized" | "declined" };

export type Advance =
  /** Some step is still unknown. */
  | { kind: "waiting" }
  /** This step completed the order: it is final now, at `finalizedAt`. */
  | { kind: "finalized"; outcome: FinalOutcome; finalizedAt: Date; orderRowUpdated: boolean }
  /**
   * The order was final before. `contradicts` when this step reported another outcome than the one
   * the order was decided on (a late duplicate): the first outcome stands and is announced again,
   * so the compensations run again for what the late step did.
   */
  | { kind: "already_final"; outcome: FinalOutcome; finalizedAt: Date; contradicts: boolean };

/** The first outcome of a step wins; later deliveries of the step never change it. */
const keepFirst = (column: string) =>
  sql`coalesce(${sql.identifier("order_progress")}.${sql.identifier(column)}, excluded.${sql.identifier(column)})`;

const upsertStep = async (tx: Tx, step: OrderStep) => {
  const fields =
    step.step === "recorded"
      ? { values: { recordedAt: step.recordedAt }, set: { recordedAt: keepFirst("recorded_at") } }
      : step.step === "inventory"
        ? { values: { inventory: step.outcome }, set: { inventory: keepFirst("inventory") } }
        : { values: { payment: step.outcome }, set: { payment: keepFirst("payment") } };
  const [row] = await tx
    .insert(orderProgress)
    .values({ orderId: step.orderId, ...fields.values })
    .onConflictDoUpdate({ target: orderProgress.orderId, set: { ...fields.set, updatedAt: sql`now()` } })
    .returning();
  if (!row) throw new Error(`order_progress upsert of ${step.orderId} returned no row`);
  return row;
};

const contradicts = (step: OrderStep, known: OrderSteps): boolean =>
  (step.step === "inventory" && step.outcome !== known.inventory) ||
  (step.step === "payment" && step.outcome !== known.payment);

/** Records one step of the order and finalizes the order when it was the last one missing. */
export const advanceOrder = async (tx: Tx, step: OrderStep, now: Date = new Date()): Promise<Advance> => {
  const progress = await upsertStep(tx, step);
  const outcome = decideOutcome(progress);
  if (!outcome) return { kind: "waiting" };
  if (progress.finalizedAt) {
    return {
      kind: "already_final",
      outcome,
      finalizedAt: progress.finalizedAt,
      contradicts: contradicts(step, progress),
    };
  }
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
