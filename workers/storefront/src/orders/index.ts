export { cancelOrder } from "./cancel.ts";
export { listOrders, type OrdersFilter } from "./list.ts";
export {
  AdminOrdersQuerySchema,
  OrderParamsSchema,
  type OrdersPage,
  OrdersPageSchema,
  type OrdersQuery,
  OrdersQuerySchema,
} from "./schemas.ts";
