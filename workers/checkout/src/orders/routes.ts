import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import { OrderIdSchema } from "../../../../domain/events.ts";
import { OrderSchema } from "../../../../domain/orders.ts";
import { customerSecurity, optionalCustomer } from "../../../edge/customer-auth/index.ts";
import { dbClient, redisClient } from "../../../platform/clients.ts";
import { errorResponses, jsonContent } from "../../../platform/openapi.ts";
import type { CheckoutEnv } from "../env.ts";
import { getOrder } from "./store.ts";

const getOrderRoute = createRoute({
  method: "get",
  path: "/v1/orders/{orderId}",
  tags: ["orders"],
  summary: "An order and its status (pending, confirmed or cancelled, then fulfilling and shipped)",
  description:
    "An order placed with a customer token is answered only with that customer's token (404 " +
    "`order_not_found` otherwise); a guest order by its unguessable id.",
  security: [{}, ...customerSecurity],
  request: {
    params: z.object({ orderId: OrderIdSchema }),
  },
  responses: {
    200: jsonContent(OrderSchema, "the order"),
    ...errorResponses("invalid_request", "unauthorized", "order_not_found", "dependency_unavailable"),
  },
});

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
