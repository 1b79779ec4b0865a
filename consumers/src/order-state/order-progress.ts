import { sql } from "drizzle-orm";
import { decideOrders } from "../../../db/order-writes.ts";
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
 * once. The steps a transaction reports cost two statements together, however many there are.
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

/** What the upsert answers for one order. */
interface Upserted {
  order: { status: OrderStatus; reason: CancelReason | null } | undefined;
  progress: { finalizedAt: Date | null; steps: OrderProgress };
  before: OrderProgress | undefined;
}

/**
 * Locks the orders' `orders` rows and upserts their steps, answering for each order its status, the
 * progress row as it is now and the steps it knew before, in ONE statement for any number of orders
 * (distinct ones; one text for any batch):
 * - `locked` reads the orders rows FOR UPDATE, in order-id order. The inserted rows' `updated_at`
 *   reads `locked` in an uncorrelated subquery, which runs once before the first row is inserted, so
 *   every orders row is locked before the upsert takes a progress row's lock: the lock order every
 *   writer of these rows keeps. The progress rows are then taken in order-id order too.
 * - `before` reads the snapshot the statement started from, which the upsert does not change. It may
 *   miss another step reported meanwhile (each step reports from its own consumer), but it is read
 *   only for the reporting step's own key, which only that step's consumer writes, one event of an
 *   order after another: waiting for the lock cannot make `before` miss it.
 */
const upsertSteps = async (tx: Tx, steps: readonly OrderStep[]): Promise<Map<string, Upserted>> => {
  const reported = steps.map((step) =>
    JSON.stringify(step.step === "deadline" ? {} : { [step.step]: step.outcome }),
  );
  const { rows } = await tx.execute<{
    order_id: string;
    /** As Postgres writes it: drizzle's driver leaves timestamps as text in raw results. */
    finalized_at: string | null;
    steps: OrderProgress;
    steps_before: OrderProgress | null;
    order_status: OrderStatus | null;
    order_reason: CancelReason | null;
  }>(sql`
    with input(order_id, reported) as (
      select * from unnest(${sql.param(steps.map((step) => step.orderId))}::varchar[], ${sql.param(reported)}::jsonb[])
    ), locked as (
      select order_id, status, reason from ${orders}
      where order_id in (select order_id from input)
      order by order_id
      for update
    ), before as (
      select order_id, steps from ${orderProgress} where order_id in (select order_id from input)
    )
    insert into ${orderProgress} as p (order_id, steps, updated_at)
    select i.order_id, i.reported, (select now() from (select count(*) from locked) as lock_taken)
    from input as i
    order by i.order_id
    -- The first outcome of a step wins: on equal keys, || keeps its right side, the row's own.
    on conflict (order_id) do update set steps = excluded.steps || p.steps, updated_at = now()
    returning p.order_id, p.finalized_at, p.steps,
      (select b.steps from before as b where b.order_id = p.order_id) as steps_before,
      (select l.status from locked as l where l.order_id = p.order_id) as order_status,
      (select l.reason from locked as l where l.order_id = p.order_id) as order_reason`);
  return new Map(
    rows.map((row) => [
      row.order_id,
      {
        order: row.order_status ? { status: row.order_status, reason: row.order_reason } : undefined,
        progress: { finalizedAt: row.finalized_at ? new Date(row.finalized_at) : null, steps: row.steps },
        before: row.steps_before ?? undefined,
      },
    ]),
  );
};

/** An order the batch decides: its outcome, and whether its progress row is marked final with it. */
interface Decision {
  orderId: string;
  outcome: FinalOutcome;
  finalize: boolean;
}

/**
 * Records the decisions in ONE statement: the orders rows move from pending to their outcome (a
 * CTE), and the progress rows of the orders decided now are marked final. Every row is already
 * locked by `upsertSteps`. Answers the orders whose row moved.
 */
const decide = async (tx: Tx, decisions: readonly Decision[], now: Date): Promise<Set<string>> => {
  if (decisions.length === 0) return new Set();
  const finalized = decisions.filter((d) => d.finalize).map((d) => d.orderId);
  const result = await tx.execute<{ order_id: string }>(sql`
    with moved as (${decideOrders(decisions, now)}),
    marked as (
      update ${orderProgress} set finalized_at = ${now.toISOString()}::timestamptz,
        updated_at = ${now.toISOString()}::timestamptz
      where order_id = any(${sql.param(finalized)}::varchar[])
    )
    select order_id from moved`);
  return new Set(result.rows.map((row) => row.order_id));
};

/**
 * Records the steps (of distinct orders) and finalizes each order whose last missing step this was,
 * in two statements however many there are; answers each step's advance, in order.
 */
const advanceDistinct = async (tx: Tx, steps: readonly OrderStep[], now: Date): Promise<Advance[]> => {
  const upserted = await upsertSteps(tx, steps);
  const decisions: Decision[] = [];
  const judged = steps.map((step) => {
    const row = upserted.get(step.orderId);
    if (!row) throw new Error(`order_progress upsert of ${step.orderId} returned no row`);
    const { order, progress, before } = row;
    if (progress.finalizedAt) {
      const outcome = (order && outcomeOfOrder(order)) ?? ORDER_SAGA.decide(progress.steps, true);
      if (!outcome) throw new Error(`order ${step.orderId} is finalized without an outcome`);
      // The order's record landed after the deadline decided it: the record takes the outcome now.
      if (order?.status === "pending") decisions.push({ orderId: step.orderId, outcome, finalize: false });
      const late = step.step !== "deadline" && ORDER_SAGA.contradicts(step, before, outcome);
      return { step, final: true, outcome, finalizedAt: progress.finalizedAt, late } as const;
    }
    const outcome = ORDER_SAGA.decide(progress.steps, step.step === "deadline");
    if (outcome) decisions.push({ orderId: step.orderId, outcome, finalize: true });
    return { step, final: false, outcome } as const;
  });
  const moved = await decide(tx, decisions, now);
  return judged.map((j): Advance => {
    const orderRowUpdated = moved.has(j.step.orderId);
    if (j.final) {
      return {
        kind: "already_final",
        outcome: j.outcome,
        finalizedAt: j.finalizedAt,
        contradicts: j.late,
        orderRowUpdated,
      };
    }
    if (!j.outcome) return { kind: "waiting" };
    return { kind: "finalized", outcome: j.outcome, finalizedAt: now, orderRowUpdated };
  });
};

/**
 * Records steps of orders and finalizes each order whose last missing step was among them; answers
 * each step's advance, in order. Steps of distinct orders go together (two statements for the lot);
 * a second step of the same order goes in a later round, after the first is recorded.
 */
export const advanceOrders = async (
  tx: Tx,
  steps: readonly OrderStep[],
  now: Date = new Date(),
): Promise<Advance[]> => {
  const advances: Advance[] = new Array(steps.length);
  let pending = steps.map((step, index) => ({ step, index }));
  while (pending.length > 0) {
    const seen = new Set<string>();
    const round = pending.filter(({ step }) => !seen.has(step.orderId) && seen.add(step.orderId));
    pending = pending.filter((item) => !round.includes(item));
    const results = await advanceDistinct(
      tx,
      round.map(({ step }) => step),
      now,
    );
    round.forEach(({ index }, i) => {
      advances[index] = results[i] as Advance;
    });
  }
  return advances;
};

/** Records one step of the order and finalizes the order when it was the last one missing. */
export const advanceOrder = async (tx: Tx, step: OrderStep, now: Date = new Date()): Promise<Advance> => {
  const [advance] = await advanceOrders(tx, [step], now);
  if (!advance) throw new Error(`no advance for order ${step.orderId}`);
  return advance;
};
