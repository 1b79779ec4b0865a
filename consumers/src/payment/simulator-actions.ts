import { randomUUID } from "node:crypto";
import type { Db } from "../../../db/node-client.ts";
import { outbox } from "../../../db/schema/index.ts";
import { PaymentEventSchema } from "../../../domain/order-events.ts";
import { TOPICS } from "../../../domain/topics.ts";
import type { SimulatedProcessor } from "./simulated-processor.ts";

/**
 * The local stand-in for the shopper finishing (or failing) a 3-D Secure step in the browser, and for
 * the processor's webhook that follows: the simulated processor settles the order's payment, and a
 * `payment-events` message goes out through the outbox, as the storefront publishes a Stripe webhook.
 * Served on the consumers' operations port (`POST /simulator/payments/<orderId>/action`) when the
 * simulator is the processor.
 */
export interface PaymentActions {
  /** False when the order's payment is not waiting for the shopper. */
  complete(orderId: string, succeeded: boolean): Promise<boolean>;
}

export const simulatorActions = (o: {
  db: Db;
  simulator: SimulatedProcessor;
  /** The run's Kafka topic prefix (production: none), as every outbox row carries it. */
  topicPrefix: string;
}): PaymentActions => ({
  async complete(orderId, succeeded) {
    if (!o.simulator.completeAction(orderId, succeeded)) return false;
    const event = PaymentEventSchema.parse({
      eventId: `sim_evt_${randomUUID()}`,
      orderId,
      source: "simulator",
      type: succeeded ? "payment_intent.amount_capturable_updated" : "payment_intent.payment_failed",
    });
    await o.db
      .insert(outbox)
      .values({ topic: `${o.topicPrefix}${TOPICS.paymentEvents}`, key: orderId, payload: event });
    return true;
  },
});
