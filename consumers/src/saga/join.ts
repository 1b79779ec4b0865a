import { randomUUID } from "node:crypto";
import type { OrderFinalized, PaymentAction } from "../../../domain/order-events.ts";
import { TOPICS } from "../../../domain/topics.ts";
import { type Advance, advanceOrders, type OrderStep } from "../order-state/order-progress.ts";
import type { OrderStatusCache } from "../order-state/order-status-cache.ts";
import { ORDER_STATUS, orderStatusEffect } from "../order-state/status-effect.ts";
import type { EffectDefinition } from "../runtime/effects.ts";
import type { Batched, TxContext } from "../runtime/types.ts";

/**
 * What a reporting consumer registers so its process applies the status rewrites it records at once
 * (without, the order-state process applies them on its relay's next pass).
 */
export const joinEffects = (statusCache: OrderStatusCache | undefined): EffectDefinition[] =>
  statusCache ? [orderStatusEffect(statusCache)] : [];

/** A step reported to the join, at `now` when the reporter has its own clock (the deadline's). */
interface Report {
  step: OrderStep;
  now?: Date;
}

/**
 * The saga's join, run once per transaction over every step reported in it (`ctx.defer`), or of the
 * deadline sweep: records the steps' outcomes (order-progress.ts, under the orders' row locks, two
 * statements for all of them), and for each order that decides, or whose late report contradicts the
 * decision, announces `order-finalized` through the outbox. Every report also records the rewrite of
 * the order's status record in Redis as a durable effect, applied after the commit, so no Redis call
 * runs while the order's rows are locked. The status write is idempotent and never moves the record
 * back a stage, so repeating it is harmless and repairs a record an earlier write could not make.
 */
const JOIN: Batched<Report> = {
  name: "saga-join",
  async run(reports, ctx) {
    // Reports with a clock of their own go in with their time; the others with the time of the run.
    const byTime = new Map<number | undefined, OrderStep[]>();
    for (const { step, now } of reports) {
      const at = now?.getTime();
      byTime.set(at, [...(byTime.get(at) ?? []), step]);
    }
    for (const [at, steps] of byTime) {
      const now = at === undefined ? new Date() : new Date(at);
      const advances = await advanceOrders(ctx.tx, steps, now);
      for (const [i, step] of steps.entries()) await announce(ctx, step, advances[i] as Advance);
    }
  },
};

/** What the join does with one step's advance: the announcement, the status record's rewrite. */
const announce = async (ctx: TxContext, step: OrderStep, result: Advance): Promise<void> => {
  // Fields per call, not a child logger: pino serializes a child's fields when it is made.
  const about = { orderId: step.orderId, step: step.step };
  if (result.kind === "waiting") {
    ctx.log.debug(about, "order waits for more steps");
    return;
  }
  const finalizedAt = result.finalizedAt.toISOString();
  if (result.kind === "finalized" && !result.orderRowUpdated) {
    ctx.log.warn(about, "order row missing or no longer pending while finalizing");
  }
  if (result.kind === "already_final" && result.contradicts) {
    ctx.log.warn(
      { ...about, outcome: result.outcome },
      "late step contradicts the final outcome; announcing it again",
    );
  }
  if (result.kind === "finalized" || result.contradicts) {
    const base = { eventId: randomUUID(), orderId: step.orderId, finalizedAt };
    const finalized: OrderFinalized =
      result.outcome.status === "confirmed"
        ? { ...base, status: "confirmed" }
        : { ...base, status: "cancelled", reason: result.outcome.reason };
    await ctx.emit(TOPICS.orderFinalized, step.orderId, finalized);
    ctx.log.debug({ ...about, outcome: result.outcome }, "order finalized");
  }
  ctx.effect(ORDER_STATUS, step.orderId, {
    final: {
      status: result.outcome.status,
      ...(result.outcome.status === "cancelled" ? { reason: result.outcome.reason } : {}),
      updatedAt: finalizedAt,
    },
  });
};

/**
 * Reports a step's outcome to the saga's join, which runs at the end of the caller's transaction
 * with every other step reported in it (`JOIN`). `now`: the reporter's own clock, if it has one.
 */
export const reportStep = (ctx: Pick<TxContext, "defer">, step: OrderStep, now?: Date): void => {
  ctx.defer(JOIN, now ? { step, now } : { step });
};

/**
 * A step waits for the shopper (3-D Secure): not an outcome, but the status record shows it (never
 * over a later stage: a decided order keeps its status).
 */
export const reportWaitingForShopper = (
  ctx: Pick<TxContext, "effect">,
  orderId: string,
  payment: PaymentAction,
  now: Date = new Date(),
): void => {
  ctx.effect(ORDER_STATUS, orderId, {
    final: { status: "requires_action", payment, updatedAt: now.toISOString() },
  });
};
