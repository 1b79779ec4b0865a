import { randomUUID } from "node:crypto";
import { type OrderFinalized, OrderFinalizedSchema } from "../../../domain/order-events.ts";
import { TOPICS } from "../../../domain/topics.ts";
import { type ConsumerDefinition, type Subscription, subscribe, type TxContext } from "../runtime/types.ts";
import { ORDER_SAGA, type StepName } from "../saga/order-saga.ts";
import { sweepOverdueOrders } from "./order-deadline.ts";
import { advanceOrder, type OrderStep } from "./order-progress.ts";
import type { OrderStatusCache } from "./order-status-cache.ts";
import { orderStatusEffect } from "./status-effect.ts";

/**
 * The join of the order saga (declared in ../saga/order-saga.ts; overview: SAGA.md): subscribes to
 * each declared step's reports (today `order-recorded`, `inventory-results`, `payment-results`), finalizes the order once (orders row and `order-finalized` in the same
 * transaction), and decides the orders whose payment step has not settled PAYMENT_STEP_LIMIT_MS after
 * it started (a periodic sweep, order-deadline.ts) through the same code path. The transaction also
 * records the rewrite of the order's status record in Redis as a durable effect (status-effect.ts):
 * the effects relay applies it after the commit, so no Redis call runs while the order's rows are
 * locked, and a Redis outage delays the record without holding up the saga.
 *
 * The Redis write is idempotent, so repeating it (a later event of a final order) is harmless, and it
 * repairs a record a previous write could not make.
 */
export interface OrderStateOptions {
  statusCache: OrderStatusCache;
  /** The payment step's limit (PAYMENT_STEP_LIMIT_MS), counted from when that step started on the order. */
  paymentLimitMs?: number;
  /** The shopper's limit for a 3-D Secure step (PAYMENT_ACTION_LIMIT_MS), from when it was asked for. */
  actionLimitMs?: number;
  /** How often the deadline sweep runs (ORDER_SWEEP_INTERVAL_MS). */
  sweepIntervalMs?: number;
  /** The clock of the deadline (tests move it forward). */
  now?: () => Date;
}

export const DEADLINE_TASK = "order-deadline";

export const createOrderStateConsumer = (deps: OrderStateOptions): ConsumerDefinition => {
  const now = deps.now ?? (() => new Date());
  const statusEffect = orderStatusEffect(deps.statusCache);
  const advance = async (step: OrderStep, ctx: TxContext): Promise<void> => {
    const result = await advanceOrder(ctx.tx, step, now());
    // Fields per call, not a child logger: pino serializes a child's fields when it is made.
    const about = { orderId: step.orderId, step: step.step };
    const { log } = ctx;
    if (result.kind === "waiting") {
      log.debug(about, "order waits for more steps");
      return;
    }
    const finalizedAt = result.finalizedAt.toISOString();
    const announce = result.kind === "finalized" || result.contradicts;
    if (result.kind === "finalized" && !result.orderRowUpdated) {
      log.warn(about, "order row missing or no longer pending while finalizing");
    }
    if (result.kind === "already_final" && result.contradicts) {
      log.warn(
        { ...about, outcome: result.outcome },
        "late step contradicts the final outcome; announcing it again",
      );
    }
    if (announce) {
      const base = { eventId: randomUUID(), orderId: step.orderId, finalizedAt };
      const finalized: OrderFinalized =
        result.outcome.status === "confirmed"
          ? { ...base, status: "confirmed" }
          : { ...base, status: "cancelled", reason: result.outcome.reason };
      await ctx.emit(TOPICS.orderFinalized, step.orderId, OrderFinalizedSchema.parse(finalized));
      log.debug({ ...about, outcome: result.outcome }, "order finalized");
    }
    ctx.effect(statusEffect, step.orderId, {
      final: {
        status: result.outcome.status,
        ...(result.outcome.status === "cancelled" ? { reason: result.outcome.reason } : {}),
        updatedAt: finalizedAt,
      },
    });
  };

  /** The join's subscription to one step's reports (each step's topic and schema, from the saga). */
  const reportsOf = (name: StepName): Subscription => {
    const { report } = ORDER_SAGA.stepOf(name);
    return subscribe(report.topic, report.schema, async (event: { orderId: string }, ctx) => {
      const outcome = report.outcome(event);
      if (outcome !== undefined) {
        // The outcome is one of the step's own (its report declared it).
        await advance({ orderId: event.orderId, step: name, outcome } as OrderStep, ctx);
        return;
      }
      // Not an outcome: the step waits for the shopper. The record shows it (never over a later
      // stage: a final order keeps its status).
      const interim = report.interim?.(event);
      if (interim)
        ctx.effect(statusEffect, event.orderId, { final: { ...interim, updatedAt: now().toISOString() } });
    });
  };

  return {
    name: "order-state",
    subscriptions: ORDER_SAGA.stepNames.map(reportsOf),
    tasks: [
      {
        name: DEADLINE_TASK,
        intervalMs: deps.sweepIntervalMs ?? 5_000,
        run: async (ctx) => {
          await sweepOverdueOrders(ctx, {
            limitMs: deps.paymentLimitMs ?? 120_000,
            actionLimitMs: deps.actionLimitMs ?? 900_000,
            now,
            expire: (orderId, tx) => advance({ orderId, step: "deadline" }, tx),
          });
        },
      },
    ],
    effects: [statusEffect],
  };
};
