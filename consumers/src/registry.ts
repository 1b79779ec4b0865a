import type { Redis } from "ioredis";
import { cartPersistenceConsumer } from "./cart-persistence/index.ts";
import { createFulfillmentProvider, createPaymentProcessor } from "./clients.ts";
import type { Settings } from "./config.ts";
import { createEmailConsumer } from "./email/index.ts";
import { createFulfillmentConsumer } from "./fulfillment/index.ts";
import { createInventoryConsumer, createRedisEdgeStock } from "./inventory/index.ts";
import { createOrderStateConsumer, createRedisOrderStatusCache } from "./order-state/index.ts";
import { ordersConsumer } from "./orders/index.ts";
import { createPaymentConsumer } from "./payment/index.ts";
import type { ConsumerDefinition } from "./runtime/types.ts";

/** What a consumer may need from the process to be built. */
export interface RegistryContext {
  settings: Settings;
  /** The process's Redis client, connected on first use; throws when REDIS_URL is not set. */
  redis(): Redis;
}

export type ConsumerFactory = (ctx: RegistryContext) => ConsumerDefinition;

/** Every consumer `main.ts` can run, by the name used on the command line and as its group id. */
export const CONSUMER_REGISTRY: Readonly<Record<string, ConsumerFactory>> = {
  orders: () => ordersConsumer,
  inventory: (ctx) => createInventoryConsumer({ edgeStock: createRedisEdgeStock(ctx.redis()) }),
  payment: (ctx) => createPaymentConsumer({ processor: createPaymentProcessor(ctx.settings) }),
  // The process's Redis client (REDIS_URL checked at start, closed at shutdown).
  "order-state": (ctx) =>
    createOrderStateConsumer({
      statusCache: createRedisOrderStatusCache(ctx.redis()),
      pendingLimitMs: ctx.settings.ORDER_PENDING_LIMIT_MS,
      sweepIntervalMs: ctx.settings.ORDER_SWEEP_INTERVAL_MS,
    }),
  email: (ctx) => createEmailConsumer({ from: ctx.settings.EMAIL_FROM }),
  fulfillment: (ctx) =>
    createFulfillmentConsumer({
      provider: createFulfillmentProvider(ctx.settings),
      statusCache: createRedisOrderStatusCache(ctx.redis()),
      pollIntervalMs: ctx.settings.FULFILLMENT_POLL_INTERVAL_MS,
    }),
  "cart-persistence": () => cartPersistenceConsumer,
};

export const CONSUMER_NAMES: readonly string[] = Object.keys(CONSUMER_REGISTRY);
