import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import Stripe from "stripe";
import { AppError } from "../../../../domain/errors.ts";
import { OrderIdSchema } from "../../../../domain/events.ts";
import { type PaymentEvent, PaymentEventSchema } from "../../../../domain/order-events.ts";
import { TOPICS } from "../../../../domain/topics.ts";
import { publishEvent } from "../../../platform/clients.ts";
import { errorResponses, jsonContent } from "../../../platform/openapi.ts";
import type { StorefrontEnv } from "../env.ts";

/**
 * Stripe's webhooks (`POST /v1/webhooks/stripe`): the `Stripe-Signature` header is verified with the
 * endpoint's signing secret (`STRIPE_WEBHOOK_SECRET`) by the official SDK, a signature made more than
 * five minutes ago included (a replay of an old delivery). A PaymentIntent's event of an order (its
 * `metadata.order_id`) is published on `payment-events` under Stripe's event id; the payment consumer
 * applies each event id once and asks Stripe what holds now, so redeliveries and deliveries out of
 * order change nothing. Other events are acknowledged and ignored. Without a signing secret the route
 * does not exist (a store that does not take payments on Stripe).
 */

const WebhookAnswerSchema = z.object({ received: z.literal(true), published: z.boolean() });

const route = createRoute({
  method: "post",
  path: "/v1/webhooks/stripe",
  tags: ["webhooks"],
  summary: "Stripe's events about the orders' payments (signed)",
  description:
    "Verifies `Stripe-Signature` (HMAC of the raw body with the endpoint's signing secret, at most five " +
    "minutes old): 400 `invalid_request` otherwise. A PaymentIntent event of an order is handed to the " +
    "order pipeline (`published: true`), where it is applied once per Stripe event id; any other event " +
    "is acknowledged. 503 when the pipeline cannot take it: Stripe delivers it again later.",
  request: {
    headers: z.object({ "stripe-signature": z.string().min(1).max(2_048) }),
    body: { content: { "application/json": { schema: z.record(z.string(), z.unknown()) } }, required: true },
  },
  responses: {
    200: jsonContent(WebhookAnswerSchema, "the event was received"),
    ...errorResponses("invalid_request", "not_found", "dependency_unavailable"),
  },
});

const badSignature = (error: unknown) =>
  new AppError("invalid_request", "Stripe-Signature does not verify for this body", {
    cause: error,
    details: [{ path: ["stripe-signature"] }],
  });

/** The pipeline's event for a PaymentIntent event of one of the store's orders, else undefined. */
const paymentEventOf = (event: Stripe.Event): PaymentEvent | undefined => {
  if (!event.type.startsWith("payment_intent.")) return undefined;
  const intent = event.data.object as Stripe.PaymentIntent;
  const orderId = OrderIdSchema.safeParse(intent.metadata?.order_id);
  if (!orderId.success) return undefined;
  const parsed = PaymentEventSchema.safeParse({
    eventId: event.id,
    orderId: orderId.data,
    source: "stripe",
    type: event.type,
    ref: intent.id,
  });
  return parsed.success ? parsed.data : undefined;
};

export const stripeWebhookRoutes = new OpenAPIHono<StorefrontEnv>().openapi(route, async (c) => {
  const secret = c.env.STRIPE_WEBHOOK_SECRET;
  if (!secret) throw new AppError("not_found", `no route for ${c.req.method} ${c.req.path}`);
  const body = await c.req.text();
  let event: Stripe.Event;
  try {
    event = await Stripe.webhooks.constructEventAsync(body, c.req.header("stripe-signature") ?? "", secret);
  } catch (error) {
    throw badSignature(error);
  }
  const published = paymentEventOf(event);
  if (published) {
    try {
      await publishEvent(c.env, TOPICS.paymentEvents, published, published.orderId);
    } catch (error) {
      throw new AppError("dependency_unavailable", "the event could not be handed to the pipeline", {
        cause: error,
        retryAfter: 5,
      });
    }
  }
  return c.json({ received: true as const, published: published !== undefined }, 200);
});
