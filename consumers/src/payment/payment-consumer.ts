import { type OrderPlaced, OrderPlacedSchema } from "../../../domain/events.ts";
import {
  type OrderFinalized,
  OrderFinalizedSchema,
  type PaymentEvent,
  PaymentEventSchema,
} from "../../../domain/order-events.ts";
import { TOPICS } from "../../../domain/topics.ts";
import type { OrderStatusCache } from "../order-state/order-status-cache.ts";
import {
  type Batched,
  type ConsumerDefinition,
  type HandlerContext,
  subscribePrepared,
} from "../runtime/types.ts";
import { joinEffects } from "../saga/join.ts";
import {
  type AuthorizationAnswer,
  recordSettlements,
  requestActionOutcome,
  requestAuthorization,
  requestCapture,
  requestVoid,
  type Settlement,
  settleAuthorizations,
} from "./payment-steps.ts";
import type { AuthorizeResult, PaymentProcessor } from "./processor.ts";
import { RECONCILE_TASK, type ReconcileOptions, reconcilePayments } from "./reconciliation.ts";

/**
 * Payment step of the order saga (overview: ../order-state/SAGA.md): authorizes a placed order's
 * subtotal and reports the outcome to the saga's join (or shows that the shopper must finish a 3-D
 * Secure step, whose outcome a `payment-events` message later tells it to look up); when the order
 * is final, captures (confirmed) or voids (cancelled) it. The payment rows of a transaction's events
 * are read, marked and written together, a statement for all of them. Every processor call runs before the event's transaction
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

  /** A processor's answer to record: to an authorization request, or after the shopper's action. */
  interface Answer extends AuthorizationAnswer {
    after: "request" | "action";
  }
  /** The answers of a transaction's events, recorded together (settleAuthorizations). */
  const record: Batched<Answer> = {
    name: "payment-answers",
    async run(answers, ctx) {
      const recorded = await settleAuthorizations(ctx, answers);
      for (const [i, { order, result, after }] of answers.entries()) {
        const about = { orderId: order.orderId, result: result.status };
        if (!recorded[i]) {
          ctx.log.info(about, "payment already recorded for this order, nothing to do");
        } else if (after === "action") ctx.log.info(about, "the shopper's action settled");
        else ctx.log.debug(about, "payment authorization answered");
      }
    },
  };
  /** The settlements of a transaction's events, recorded together (recordSettlements). */
  const settle: Batched<{ orderId: string; settlement: Settlement }> = {
    name: "payment-settlements",
    async run(settlements, ctx) {
      await recordSettlements(ctx.tx, settlements);
      for (const { orderId, settlement } of settlements)
        ctx.log.debug({ orderId, settlement }, "payment settled");
    },
  };

  const recordResult = async (
    event: OrderPlaced,
    ctx: HandlerContext,
    result: AuthorizeResult | null,
  ): Promise<void> => {
    if (!result) {
      ctx.log.info({ orderId: event.orderId }, "payment already recorded for this order, nothing to do");
      return;
    }
    ctx.defer(record, { order: event, result, after: "request" });
  };

  const recordSettled = async (event: OrderFinalized, ctx: HandlerContext, settlement: Settlement) =>
    ctx.defer(settle, { orderId: event.orderId, settlement });

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
    ctx.defer(record, { order, result: outcome.result, after: "action" });
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
