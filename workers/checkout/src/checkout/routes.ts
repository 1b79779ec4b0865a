import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import { AppError } from "../../../../domain/errors.ts";
import { OrderSchema } from "../../../../domain/orders.ts";
import { TOPICS } from "../../../../domain/topics.ts";
import { cartDepsFor } from "../../../edge/cart/index.ts";
import { customerSecurity, optionalCustomer } from "../../../edge/customer-auth/index.ts";
import { StockCounter } from "../../../edge/stock/index.ts";
import { dbClient, msSetting, publishEvent, redisClient } from "../../../platform/clients.ts";
import { errorResponses } from "../../../platform/openapi.ts";
import type { CheckoutEnv } from "../env.ts";
import { CheckoutBodySchema, IdempotencyKeySchema } from "./schemas.ts";
import { checkout } from "./service.ts";

const checkoutRoute = createRoute({
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
    "`lastOrderId`. A checkout of an emptied cart is 409 `cart_empty` with `details.lastOrderId`. " +
    "With a customer token the order belongs to that customer (a guest needs no token; an invalid " +
    "one is 401 `unauthorized`).",
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
      "order_queue_unavailable",
      "dependency_unavailable",
    ),
  },
});

export const checkoutRoutes = new OpenAPIHono<CheckoutEnv>();

// The key is checked before the body: without one, nothing about the request can be replayed safely.
checkoutRoutes.use("/v1/checkout", async (c, next) => {
  if (c.req.method === "POST" && !c.req.header("Idempotency-Key")) {
    throw new AppError("idempotency_key_required", "POST /v1/checkout needs an Idempotency-Key header");
  }
  await next();
});

checkoutRoutes.openapi(checkoutRoute, async (c) => {
  const key = c.req.valid("header")["idempotency-key"];
  if (!key)
    throw new AppError("idempotency_key_required", "POST /v1/checkout needs an Idempotency-Key header");
  const customer = await optionalCustomer(c.env, c.req.header("Authorization"));
  const background = (work: Promise<unknown>) => c.executionCtx.waitUntil(work);
  const redis = redisClient(c.env, { raw: true });
  const { order, replayed } = await checkout(
    {
      cart: cartDepsFor(c.env, background),
      redis,
      publishOrder: (event) => publishEvent(c.env, TOPICS.orderPlaced, event, event.orderId),
      stock: new StockCounter(redis, () => dbClient(c.env)),
      publishTimeoutMs: msSetting(c.env.ORDER_PUBLISH_TIMEOUT_MS, 4_000),
      holdMs: msSetting(c.env.STOCK_HOLD_TTL_MS, 600_000),
    },
    key,
    c.req.valid("json"),
    customer?.customerId,
  );
  c.header("Location", `/v1/orders/${order.orderId}`);
  if (replayed) c.header("Idempotent-Replayed", "true");
  return c.json(order, 202);
});
