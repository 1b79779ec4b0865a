import { OpenAPIHono } from "@hono/zod-openapi";
import { AppError } from "../../../../domain/errors.ts";
import { TOPICS } from "../../../../domain/topics.ts";
import { cartDepsFor } from "../../../edge/cart/index.ts";
import { checkoutRoute } from "../../../edge/checkout-contract/index.ts";
import { optionalCustomer } from "../../../edge/customer-auth/index.ts";
import { StockCounter } from "../../../edge/stock/index.ts";
import { dbClient, publishEvent, redisClient } from "../../../platform/clients.ts";
import type { CheckoutEnv } from "../env.ts";
import { checkout } from "./service.ts";

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
      publishTimeoutMs: c.var.settings.ORDER_PUBLISH_TIMEOUT_MS,
      holdMs: c.var.settings.STOCK_HOLD_TTL_MS,
      limits: { orderCents: c.var.settings.MAX_ORDER_CENTS, lineCents: c.var.settings.MAX_LINE_CENTS },
    },
    key,
    c.req.valid("json"),
    customer?.customerId,
  );
  c.header("Location", `/v1/orders/${order.orderId}`);
  if (replayed) c.header("Idempotent-Replayed", "true");
  return c.json(order, 202);
});
