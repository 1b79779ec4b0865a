import { z } from "@hono/zod-openapi";
import { OrderIdSchema } from "../../../../domain/events.ts";
import { OrderStatusSchema } from "../../../../domain/order-events.ts";
import { OrderSchema } from "../../../../domain/orders.ts";

export const OrdersQuerySchema = z.object({
  cursor: z.string().min(1).max(200).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20),
});
export type OrdersQuery = z.infer<typeof OrdersQuerySchema>;

/** The operators' list: every order, or those of one status. */
export const AdminOrdersQuerySchema = OrdersQuerySchema.extend({ status: OrderStatusSchema.optional() });

export const OrdersPageSchema = z
  .object({ items: z.array(OrderSchema), nextCursor: z.string().nullable() })
  .openapi("OrdersPage");
export type OrdersPage = z.infer<typeof OrdersPageSchema>;

export const OrderParamsSchema = z.object({ orderId: OrderIdSchema });
