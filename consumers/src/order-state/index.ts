export { type DeadlineSweep, sweepOverdueOrders } from "./order-deadline.ts";
export { type Advance, advanceOrder, type OrderStep, outcomeOfOrder } from "./order-progress.ts";
export {
  createOrderStateConsumer,
  DEADLINE_TASK,
  type OrderStateOptions,
} from "./order-state-consumer.ts";
export {
  createRedisOrderStatusCache,
  type FinalStatus,
  type OrderStatusCache,
  type StatusRedis,
  type StatusWrite,
} from "./order-status-cache.ts";
export { loadOrder, syncOrderStatus } from "./order-status-sync.ts";
export { orderStatusEffect, type StatusEffect } from "./status-effect.ts";
