import { randomUUID } from "node:crypto";
import type { OrderFinalized, PaymentAction } from "../../../domain/order-events.ts";
import { TOPICS } from "../../../domain/topics.ts";
import { advanceOrder, type OrderStep } from "../order-state/order-progress.ts";
import type { OrderStatusCache } from "../order-state/order-status-cache.ts";
import { ORDER_STATUS, orderStatusEffect } from "../order-state/status-effect.ts";
import type { EffectDefinition } from "../runtime/effects.ts";
import type { TxContext } from "../runtime/types.ts";

/**
 * What a reporting consumer registers so its process applies the status rewrites it records at once
 * (without, the order-state process applies them on its relay's next pass).
 */
export const joinEffects = (statusCache: OrderStatusCache | undefined): EffectDefinition[] =>
  statusCache ? [orderStatusEffect(statusCache)] : [];

/**
 * The saga's join, run inside the transaction of the step that reports (or of the deadline sweep):
 * records the step's outcome (order-progress.ts, under the order's row lock), and when that decides
 * the order, or a late report contradicts the decision, announces `order-finalized` through the
 * outbox. Every call also records the rewrite of the order's status record in Redis as a durable
 * effect, applied after the commit, so no Redis call runs while the order's rows are locked. The
 * status write is idempotent and never moves the record back a stage, so repeating it is harmless and
 * repairs a record an earlier write could not make.
 */
export const reportStep = async (ctx: TxContext, step: OrderStep, now: Date = new Date()): Promise<void> => {
  const result = await advanceOrder(ctx.tx, step, now);
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
