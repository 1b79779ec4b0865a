import { createRoute, OpenAPIHono } from "@hono/zod-openapi";
import { OrderSchema } from "../../../../domain/orders.ts";
import { dbClient, redisClient } from "../../../platform/clients.ts";
import { errorResponses, jsonContent } from "../../../platform/openapi.ts";
import type { StorefrontEnv } from "../env.ts";
import {
  AdminOrdersQuerySchema,
  cancelOrder,
  listOrders,
  OrderParamsSchema,
  OrdersPageSchema,
} from "../orders/index.ts";
import { adminAuth, adminSecurity } from "./auth.ts";

const listOrdersRoute = createRoute({
  method: "get",
  path: "/v1/admin/orders",
  tags: ["admin"],
  summary: "Orders for operators, newest first, optionally of one status",
  description:
    "Keyset pagination: pass `nextCursor` as `cursor` for the next page (null on the last). Orders " +
    "appear once the order pipeline has recorded them. `status`: pending, confirmed, fulfilling, " +
    "shipped or cancelled.",
  security: adminSecurity,
  middleware: [adminAuth],
  request: { query: AdminOrdersQuerySchema },
  responses: {
    200: jsonContent(OrdersPageSchema, "a page of orders"),
    ...errorResponses("invalid_request", "unauthorized", "dependency_unavailable"),
  },
});

const cancelOrderRoute = createRoute({
  method: "post",
  path: "/v1/admin/orders/{orderId}/cancel",
  tags: ["admin"],
  summary: "Cancel an order that has not shipped yet",
  description: [
    "Cancels a pending, confirmed or fulfilling order (`reason: cancelled_by_merchant`): its stock is",
    "released, its payment voided (or refunded once captured), the warehouse request withdrawn, and",
    "the customer gets one cancellation email; the answer is the cancelled order. An order the",
    "warehouse has shipped is 409 `order_already_shipped`: of a cancellation and a shipment racing,",
    "whichever Postgres records first wins. Cancelling a cancelled order answers it unchanged.",
  ].join(" "),
  security: adminSecurity,
  middleware: [adminAuth],
  request: { params: OrderParamsSchema },
  responses: {
    200: jsonContent(OrderSchema, "the cancelled order"),
    ...errorResponses(
      "invalid_request",
      "unauthorized",
      "order_not_found",
      "order_already_shipped",
      "dependency_unavailable",
    ),
  },
});

export const adminOrderRoutes = new OpenAPIHono<StorefrontEnv>()
  .openapi(listOrdersRoute, async (c) => {
    const { status, ...page } = c.req.valid("query");
    c.header("Cache-Control", "no-store");
    return c.json(await listOrders(dbClient(c.env), { status }, page), 200);
  })
  .openapi(cancelOrderRoute, async (c) => {
    const order = await cancelOrder(
      {
        db: dbClient(c.env),
        redis: redisClient(c.env, { raw: true }),
        topicPrefix: c.env.KAFKA_TOPIC_PREFIX,
      },
      c.req.valid("param").orderId,
    );
    c.header("Cache-Control", "no-store");
    return c.json(order, 200);
  });
