export { type Advance, advanceOrder, type OrderStep } from "./order-progress.ts";
export { createOrderStateConsumer, orderStateConsumer } from "./order-state-consumer.ts";
export {
  createLazyRedisOrderStatusCache,
  createRedisOrderStatusCache,
  type FinalStatus,
  type OrderStatusCache,
  type StatusRedis,
  type StatusWrite,
} from "./order-status-cache.ts";
export { decideOutcome, type FinalOutcome, type OrderSteps } from "./outcome.ts";
