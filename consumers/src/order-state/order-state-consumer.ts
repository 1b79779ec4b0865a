import { randomUUID } from "node:crypto";
import {
  type InventoryResult,
  InventoryResultSchema,
  type OrderFinalized,
  OrderFinalizedSchema,
  type OrderRecorded,
  OrderRecordedSchema,
  type PaymentResult,
  PaymentResultSchema,
} from "../../../domain/order-events.ts";
import { TOPICS } from "../../../domain/topics.ts";
import { type ConsumerDefinition, subscribe, type TxContext } from "../runtime/types.ts";
import { sweepOverdueOrders } from "./order-deadline.ts";
import { advanceOrder, type OrderStep } from "./order-progress.ts";
import type { OrderStatusCache } from "./order-status-cache.ts";
import { orderStatusEffect } from "./status-effect.ts";

/**
 * Order-state step of the saga (overview: SAGA.md): joins `order-recorded`, `inventory-results` and
 * `payment-results` per order, finalizes the order once (orders row and `order-finalized` in the same
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
    const log = ctx.log.child({ orderId: step.orderId, step: step.step });
    if (result.kind === "waiting") {
      log.debug("order waits for more steps");
      return;
    }
    const finalizedAt = result.finalizedAt.toISOString();
    const announce = result.kind === "finalized" || result.contradicts;
    if (result.kind === "finalized" && !result.orderRowUpdated) {
      log.warn("order row missing or no longer pending while finalizing");
    }
    if (result.kind === "already_final" && result.contradicts) {
      log.warn({ outcome: result.outcome }, "late step contradicts the final outcome; announcing it again");
    }
    if (announce) {
      const base = { eventId: randomUUID(), orderId: step.orderId, finalizedAt };
      const finalized: OrderFinalized =
        result.outcome.status === "confirmed"
          ? { ...base, status: "confirmed" }
          : { ...base, status: "cancelled", reason: result.outcome.reason };
      await ctx.emit(TOPICS.orderFinalized, step.orderId, OrderFinalizedSchema.parse(finalized));
      log.debug({ outcome: result.outcome }, "order finalized");
    }
    ctx.effect(statusEffect, step.orderId, {
      final: {
        status: result.outcome.status,
        ...(result.outcome.status === "cancelled" ? { reason: result.outcome.reason } : {}),
        updatedAt: finalizedAt,
      },
    });
  };

  return {
    name: "order-state",
    subscriptions: [
      subscribe(TOPICS.orderRecorded, OrderRecordedSchema, (event: OrderRecorded, ctx) =>
        advance({ orderId: event.orderId, step: "recorded", recordedAt: new Date(event.recordedAt) }, ctx),
      ),
      subscribe(TOPICS.inventoryResults, InventoryResultSchema, (event: InventoryResult, ctx) =>
        advance({ orderId: event.orderId, step: "inventory", outcome: event.type }, ctx),
      ),
      subscribe(TOPICS.paymentResults, PaymentResultSchema, async (event: PaymentResult, ctx) => {
        if (event.type !== "action_required") {
          await advance({ orderId: event.orderId, step: "payment", outcome: event.type }, ctx);
          return;
        }
        // Not a step's outcome: the shopper is asked to finish the payment. The record shows it
        // (never over a later stage: a final order keeps its status).
        ctx.effect(statusEffect, event.orderId, {
          final: { status: "requires_action", payment: event.payment, updatedAt: now().toISOString() },
        });
      }),
    ],
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
