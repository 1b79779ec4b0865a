import { createRoute, z } from "@hono/zod-openapi";
import { OrderIdSchema } from "../../../domain/events.ts";
import { OrderSchema } from "../../../domain/orders.ts";
import { errorResponses, jsonContent } from "../../platform/openapi.ts";
import { customerSecurity } from "../customer-auth/index.ts";
import { CheckoutBodySchema, IdempotencyKeySchema } from "./schemas.ts";

export const checkoutRoute = createRoute({
  method: "post",
  path: "/v1/checkout",
  tags: ["checkout"],
  summary: "Place the order of a cart (answered before payment; follow it at Location)",
  description:
    "One cart checkout is one order, whatever the shopper clicks. The cart is frozen as its order " +
    "before the order is published; if Kafka does not acknowledge in time the answer is 503 " +
    "`order_queue_unavailable` with `details.orderId`, because the order may still land. The cart " +
    "then shows `pendingOrderId` and refuses changes (409 `checkout_in_progress`), and every later " +
    "checkout of it, with any Idempotency-Key, places exactly that order (same id and prices) until " +
    "it is acknowledged or the pipeline has recorded it; the cart is then emptied and shows " +
    "`lastOrderId`. The Idempotency-Key whose publish timed out, retried once its order " +
    "landed, answers 202 with that order (`Idempotent-Replayed: true`); a checkout of an emptied cart " +
    "with another key is 409 `cart_empty` with `details.lastOrderId`. " +
    "With a customer token the order belongs to that customer (a guest needs no token; an invalid " +
    "one is 401 `unauthorized`). Checkouts are limited per client IP, and per customer when signed " +
    "in (429 `rate_limited` with `Retry-After`).",
  security: [{}, ...customerSecurity],
  request: {
    headers: z.object({
      "idempotency-key": IdempotencyKeySchema.optional().openapi({
        description: "1..255 characters; required",
      }),
    }),
    body: { required: true, content: { "application/json": { schema: CheckoutBodySchema } } },
  },
  responses: {
    202: {
      description: "order received (status pending); replays carry Idempotent-Replayed: true",
      headers: {
        Location: { schema: { type: "string" } },
        "Idempotent-Replayed": { schema: { type: "string" } },
      },
      content: { "application/json": { schema: OrderSchema } },
    },
    ...errorResponses(
      "invalid_request",
      "idempotency_key_required",
      "unauthorized",
      "cart_not_found",
      "cart_empty",
      "checkout_in_progress",
      "out_of_stock",
      "payload_too_large",
      "idempotency_key_mismatch",
      "amount_limit",
      "rate_limited",
      "order_queue_unavailable",
      "dependency_unavailable",
    ),
  },
});

export const getOrderRoute = createRoute({
  method: "get",
  path: "/v1/orders/{orderId}",
  tags: ["orders"],
  summary: "An order and its status (pending, confirmed or cancelled, then fulfilling and shipped)",
  description:
    "An order placed with a customer token is answered only with that customer's token (404 " +
    "`order_not_found` otherwise); a guest order by its unguessable id. While the card issuer waits " +
    "for the shopper (3-D Secure) the status is `requires_action` and `payment.clientSecret` is what " +
    "the frontend finishes the payment with (Stripe.js `handleNextAction`); the order then goes on to " +
    "`confirmed`, or `cancelled` with `payment_declined` (the step failed) or `payment_timeout` (not " +
    "finished in time).",
  security: [{}, ...customerSecurity],
  request: {
    params: z.object({ orderId: OrderIdSchema }),
  },
  responses: {
    200: jsonContent(OrderSchema, "the order"),
    ...errorResponses("invalid_request", "unauthorized", "order_not_found", "dependency_unavailable"),
  },
});

/** Every route of the checkout worker's API; the storefront forwards exactly these to it. */
export const CHECKOUT_API_ROUTES = [checkoutRoute, getOrderRoute] as const;
