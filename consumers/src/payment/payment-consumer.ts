import { randomUUID } from "node:crypto";
import { type OrderPlaced, OrderPlacedSchema } from "../../../domain/events.ts";
import {
  type OrderFinalized,
  OrderFinalizedSchema,
  PaymentResultSchema,
} from "../../../domain/order-events.ts";
import { TOPICS } from "../../../domain/topics.ts";
import { type ConsumerDefinition, type HandlerContext, subscribe } from "../runtime/types.ts";
import { authorizePayment, capturePayment, voidPayment } from "./payment-steps.ts";
import type { PaymentProcessor } from "./processor.ts";
import { createSimulatedProcessor, simulatedProcessorOptionsFromEnv } from "./simulated-processor.ts";

/**
 * Payment step of the order saga: authorizes a placed order's subtotal and announces the outcome on
 * `payment-results`; when the order is final, captures (confirmed) or voids (cancelled) it.
 * Processor errors propagate, so the runner retries the event; retries reuse the idempotency key.
 */
export const createPaymentConsumer = (deps: { processor: PaymentProcessor }): ConsumerDefinition => {
  const onOrderPlaced = async (event: OrderPlaced, ctx: HandlerContext): Promise<void> => {
    const result = await authorizePayment(ctx.tx, deps.processor, event);
    if (!result) {
      ctx.log.info({ orderId: event.orderId }, "payment already recorded for this order, nothing to do");
      return;
    }
    const base = { eventId: randomUUID(), orderId: event.orderId };
    const payload = PaymentResultSchema.parse(
      result.status === "authorized"
        ? { ...base, type: "authorized", amountCents: event.subtotalCents }
        : { ...base, type: "declined", reason: "payment_declined" },
    );
    ctx.log.info({ orderId: event.orderId, result: result.status }, "payment authorization answered");
    await ctx.emit(TOPICS.paymentResults, event.orderId, payload);
  };

  const onOrderFinalized = async (event: OrderFinalized, ctx: HandlerContext): Promise<void> => {
    const settle = event.status === "confirmed" ? capturePayment : voidPayment;
    const outcome = await settle(ctx.tx, deps.processor, event.orderId);
    ctx.log.info({ orderId: event.orderId, status: event.status, outcome }, "payment settled");
  };

  return {
    name: "payment",
    subscriptions: [
      subscribe(TOPICS.orderPlaced, OrderPlacedSchema, onOrderPlaced),
      subscribe(TOPICS.orderFinalized, OrderFinalizedSchema, onOrderFinalized),
    ],
  };
};

/** The payment consumer on the simulated processor, configured from the environment. */
export const paymentConsumer: ConsumerDefinition = createPaymentConsumer({
  processor: createSimulatedProcessor(simulatedProcessorOptionsFromEnv()),
});
