import { type OrderPlaced, OrderPlacedSchema } from "../../../domain/events.ts";
import {
  type OrderFinalized,
  OrderFinalizedSchema,
  type PaymentEvent,
  PaymentEventSchema,
} from "../../../domain/order-events.ts";
import { TOPICS } from "../../../domain/topics.ts";
import type { OrderStatusCache } from "../order-state/order-status-cache.ts";
import { type ConsumerDefinition, type HandlerContext, subscribePrepared } from "../runtime/types.ts";
import { joinEffects } from "../saga/join.ts";
import {
  recordSettlement,
  requestActionOutcome,
  requestAuthorization,
  requestCapture,
  requestVoid,
  type Settlement,
  settleAuthorization,
} from "./payment-steps.ts";
import type { AuthorizeResult, PaymentProcessor } from "./processor.ts";
import { RECONCILE_TASK, type ReconcileOptions, reconcilePayments } from "./reconciliation.ts";

/**
 * Payment step of the order saga (overview: ../order-state/SAGA.md): authorizes a placed order's
 * subtotal and announces the outcome on `payment-results` (or that the shopper must finish a 3-D
 * Secure step, whose outcome a `payment-events` message later tells it to look up); when the order
 * is final, captures (confirmed) or voids (cancelled) it. Every processor call runs before the event's transaction
 * (`prepare`), never while it holds locks; its errors propagate, so the runner retries the event
 * (transient ones for minutes, see PAYMENT_RETRY_MAX_MS) with the same idempotency key.
 */
export const createPaymentConsumer = (deps: {
  processor: PaymentProcessor;
  /** Reconciliation of payments whose answer was never recorded (reconciliation.ts); off without. */
  reconcile?: ReconcileOptions;
  /** Applies the status rewrites this consumer records (saga/join.ts). */
  statusCache?: OrderStatusCache;
}): ConsumerDefinition => {
  const { reconcile } = deps;
  const recordResult = async (
    event: OrderPlaced,
    ctx: HandlerContext,
    result: AuthorizeResult | null,
  ): Promise<void> => {
    if (!result || !(await settleAuthorization(ctx, event, result))) {
      ctx.log.info({ orderId: event.orderId }, "payment already recorded for this order, nothing to do");
      return;
    }
    ctx.log.debug({ orderId: event.orderId, result: result.status }, "payment authorization answered");
  };

  const recordSettled = async (event: OrderFinalized, ctx: HandlerContext, outcome: Settlement) => {
    await recordSettlement(ctx.tx, event.orderId, outcome);
    ctx.log.debug({ orderId: event.orderId, status: event.status, outcome }, "payment settled");
  };

  const recordActionOutcome = async (
    event: PaymentEvent,
    ctx: HandlerContext,
    outcome: Awaited<ReturnType<typeof requestActionOutcome>>,
  ): Promise<void> => {
    if (!outcome) {
      ctx.log.debug({ orderId: event.orderId, type: event.type }, "processor event changes nothing now");
      return;
    }
    const order = { orderId: event.orderId, subtotalCents: outcome.amountCents };
    if (await settleAuthorization(ctx, order, outcome.result)) {
      ctx.log.info({ orderId: event.orderId, result: outcome.result.status }, "the shopper's action settled");
    }
  };

  return {
    name: "payment",
    effects: joinEffects(deps.statusCache),
    subscriptions: [
      subscribePrepared(TOPICS.orderPlaced, OrderPlacedSchema, {
        prepare: (event, ctx) => requestAuthorization(ctx.db, deps.processor, event),
        handle: recordResult,
      }),
      subscribePrepared(TOPICS.orderFinalized, OrderFinalizedSchema, {
        prepare: (event, ctx) =>
          (event.status === "confirmed" ? requestCapture : requestVoid)(
            ctx.db,
            deps.processor,
            event.orderId,
          ),
        handle: recordSettled,
      }),
      // The processor's word (a webhook; the simulator's 3-D Secure outcome): a hint to look again.
      subscribePrepared(TOPICS.paymentEvents, PaymentEventSchema, {
        prepare: (event, ctx) => requestActionOutcome(ctx.db, deps.processor, event.orderId),
        handle: recordActionOutcome,
      }),
    ],
    tasks: reconcile
      ? [
          {
            name: RECONCILE_TASK,
            intervalMs: reconcile.intervalMs,
            run: (ctx) => reconcilePayments(ctx, deps.processor, reconcile),
          },
        ]
      : [],
  };
};
