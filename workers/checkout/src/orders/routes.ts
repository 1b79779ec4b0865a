import { OpenAPIHono } from "@hono/zod-openapi";
import { getOrderRoute } from "../../../edge/checkout-contract/index.ts";
import { optionalCustomer } from "../../../edge/customer-auth/index.ts";
import { dbClient, redisClient } from "../../../platform/clients.ts";
import type { CheckoutEnv } from "../env.ts";
import { getOrder } from "./store.ts";

export const orderRoutes = new OpenAPIHono<CheckoutEnv>();

orderRoutes.openapi(getOrderRoute, async (c) => {
  const viewer = await optionalCustomer(c.env, c.req.header("Authorization"));
  const order = await getOrder(
    { redis: redisClient(c.env, { raw: true }), db: () => dbClient(c.env) },
    c.req.valid("param").orderId,
    viewer?.customerId ?? null,
  );
  c.header("Cache-Control", "no-store");
  return c.json(order, 200);
});
