import { sql } from "drizzle-orm";
import { decideOrder } from "../../../db/order-writes.ts";
import { orderProgress, orders } from "../../../db/schema/index.ts";
import type { CancelReason, OrderStatus } from "../../../domain/order-events.ts";
import type { Tx } from "../runtime/types.ts";
import type { FinalOutcome } from "../saga/define.ts";
import { ORDER_SAGA, type OrderProgress, type StepOutcome } from "../saga/order-saga.ts";

/**
 * The join of the order saga (declared in ../saga/order-saga.ts), in the caller's transaction: each
 * step's first outcome is merged into the order's `order_progress.steps`, and the transaction that completes the row (or
 * that the saga deadline runs) finalizes the order. Every call locks the order's `orders` row first,
 * then its progress row, always in that order, so events of one order and the deadline sweep queue
 * instead of deadlocking, and the last one sees every field; `finalized_at` makes finalizing happen
 * once. Each step costs one statement, and the one that finalizes the order one more.
 */

export type OrderStep =
  | ({ orderId: string } & StepOutcome)
  /** The order has been pending longer than the limit: decide it with what is known. */
  | { orderId: string; step: "deadline" };

export type Advance =
  /** Some step is still unknown. */
  | { kind: "waiting" }
  /** This step completed the order: it is final now, at `finalizedAt`. */
  | { kind: "finalized"; outcome: FinalOutcome; finalizedAt: Date; orderRowUpdated: boolean }
  /**
   * The order was final before. `contradicts` when this step reported something the final outcome
   * did not account for (ORDER_SAGA.contradicts): the outcome stands and is announced again, so the
   * compensations run again for what the late step did. `orderRowUpdated` when the order's record
   * landed after it was decided (the deadline decided it first): the record takes the outcome now.
   */
  | {
      kind: "already_final";
      outcome: FinalOutcome;
      finalizedAt: Date;
      contradicts: boolean;
      orderRowUpdated: boolean;
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

/**
 * Locks the order's `orders` row and upserts the step, answering the order's status, the progress row
 * as it is now and the steps it knew before, in ONE statement:
 * - `locked` reads the orders row FOR UPDATE. The value of `updated_at` reads `locked` in a subquery,
 *   which runs before the row is inserted, so the orders row is locked before the upsert takes the
 *   progress row's lock: the lock order every writer of these rows keeps.
 * - `before` reads the snapshot the statement started from, which the upsert does not change. It may
 *   miss another step reported meanwhile (each step reports from its own consumer), but it is read
 *   only for the reporting step's own key, which only that step's consumer writes, one event of an
 *   order after another: waiting for the lock cannot make `before` miss it.
 */
const upsertStep = async (tx: Tx, step: OrderStep) => {
  const reported: Record<string, string> = step.step === "deadline" ? {} : { [step.step]: step.outcome };
  // One text whatever the step (a fixed statement: planned once per connection, built cheaply).
  const { rows } = await tx.execute<{
    /** As Postgres writes it: drizzle's driver leaves timestamps as text in raw results. */
    finalized_at: string | null;
    steps: OrderProgress;
    steps_before: OrderProgress | null;
    order_status: OrderStatus | null;
    order_reason: CancelReason | null;
  }>(sql`
    with locked as (select status, reason from ${orders} where order_id = ${step.orderId} for update),
    before as (select steps from ${orderProgress} where order_id = ${step.orderId})
    insert into ${orderProgress} as p (order_id, steps, updated_at)
    values (${step.orderId}, ${JSON.stringify(reported)}::jsonb,
      (select now() from (select count(*) from locked) as lock_taken))
    -- The first outcome of a step wins: on equal keys, || keeps its right side, the row's own.
    on conflict (order_id) do update set steps = excluded.steps || p.steps, updated_at = now()
    returning p.finalized_at, p.steps, (select steps from before) as steps_before,
      (select status from locked) as order_status, (select reason from locked) as order_reason`);
  const [row] = rows;
  if (!row) throw new Error(`order_progress upsert of ${step.orderId} returned no row`);
  return {
    order: row.order_status ? { status: row.order_status, reason: row.order_reason } : undefined,
    progress: { finalizedAt: row.finalized_at ? new Date(row.finalized_at) : null, steps: row.steps },
    before: row.steps_before ?? undefined,
  };
};

/**
 * Finalizes the order in ONE statement: the orders row moves from pending to the outcome (a CTE) and
 * the progress row is marked final. Both rows are already locked by `upsertStep`. Answers whether the
 * orders row moved.
 */
const finalize = async (tx: Tx, orderId: string, outcome: FinalOutcome, now: Date): Promise<boolean> => {
  const result = await tx.execute<{ moved: boolean }>(sql`
    with moved as (${decideOrder(orderId, outcome, now)})
    update ${orderProgress} set finalized_at = ${now.toISOString()}::timestamptz,
      updated_at = ${now.toISOString()}::timestamptz
    where order_id = ${orderId}
    returning exists (select 1 from moved) as moved`);
  return result.rows[0]?.moved === true;
};

/** Records one step of the order and finalizes the order when it was the last one missing. */
export const advanceOrder = async (tx: Tx, step: OrderStep, now: Date = new Date()): Promise<Advance> => {
  const { order, progress, before } = await upsertStep(tx, step);
  if (progress.finalizedAt) {
    const outcome = (order && outcomeOfOrder(order)) ?? ORDER_SAGA.decide(progress.steps, true);
    if (!outcome) throw new Error(`order ${step.orderId} is finalized without an outcome`);
    const late = step.step !== "deadline" && ORDER_SAGA.contradicts(step, before, outcome);
    const recordedLate =
      order?.status === "pending" &&
      (await tx.execute(decideOrder(step.orderId, outcome, now))).rows.length > 0;
    return {
      kind: "already_final",
      outcome,
      finalizedAt: progress.finalizedAt,
      contradicts: late,
      orderRowUpdated: recordedLate,
    };
  }
  const outcome = ORDER_SAGA.decide(progress.steps, step.step === "deadline");
  if (!outcome) return { kind: "waiting" };
  const orderRowUpdated = await finalize(tx, step.orderId, outcome, now);
  return { kind: "finalized", outcome, finalizedAt: now, orderRowUpdated };
};
