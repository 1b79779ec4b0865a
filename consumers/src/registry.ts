import type { Redis } from "ioredis";
import { cartPersistenceConsumer } from "./cart-persistence/index.ts";
import { createFulfillmentProvider, createPaymentProcessor } from "./clients.ts";
import type { Settings } from "./config.ts";
import { createEmailConsumer } from "./email/index.ts";
import { createFulfillmentConsumer, type FulfillmentProvider } from "./fulfillment/index.ts";
import { createInventoryConsumer, createRedisEdgeStock } from "./inventory/index.ts";
import { createOrderStateConsumer, createRedisOrderStatusCache } from "./order-state/index.ts";
import { createOrdersConsumer, createRedisAckedOrders } from "./orders/index.ts";
import { createPaymentConsumer, type PaymentProcessor } from "./payment/index.ts";
import type { ConsumerDefinition } from "./runtime/types.ts";

/** What a consumer may need from the process to be built. */
export interface RegistryContext {
  settings: Settings;
  /** The process's Redis client, connected on first use; throws when REDIS_URL is not set. */
  redis(): Redis;
  /** The payment processor before its deadline is added (default: the simulated one, from the settings). */
  processor?: PaymentProcessor;
  /** The warehouse before its deadline is added (default: the simulated one, from the settings). */
  warehouse?: FulfillmentProvider;
}

export type ConsumerFactory = (ctx: RegistryContext) => ConsumerDefinition;

/** Every consumer `main.ts` can run, by the name used on the command line and as its group id. */
export const CONSUMER_REGISTRY: Readonly<Record<string, ConsumerFactory>> = {
  // Reconciliation of acknowledged orders needs the Redis that checkout writes them to.
  orders: (ctx) =>
    createOrdersConsumer(
      ctx.settings.REDIS_URL
        ? {
            reconcile: {
              acked: createRedisAckedOrders(ctx.redis()),
              afterMs: ctx.settings.ORDER_RECONCILE_AFTER_MS,
              intervalMs: ctx.settings.ORDER_RECONCILE_INTERVAL_MS,
            },
            statusCache: createRedisOrderStatusCache(ctx.redis()),
          }
        : {},
    ),
  inventory: (ctx) =>
    createInventoryConsumer({
      edgeStock: createRedisEdgeStock(ctx.redis()),
      statusCache: createRedisOrderStatusCache(ctx.redis()),
    }),
  payment: (ctx) =>
    createPaymentConsumer({
      ...(ctx.settings.REDIS_URL ? { statusCache: createRedisOrderStatusCache(ctx.redis()) } : {}),
      processor: createPaymentProcessor(ctx.settings, ctx.processor),
      reconcile: {
        afterMs: ctx.settings.PAYMENT_RECONCILE_AFTER_MS,
        intervalMs: ctx.settings.PAYMENT_RECONCILE_INTERVAL_MS,
      },
    }),
  // The process's Redis client (REDIS_URL checked at start, closed at shutdown).
  "order-state": (ctx) =>
    createOrderStateConsumer({
      statusCache: createRedisOrderStatusCache(ctx.redis()),
      paymentLimitMs: ctx.settings.PAYMENT_STEP_LIMIT_MS,
      actionLimitMs: ctx.settings.PAYMENT_ACTION_LIMIT_MS,
      sweepIntervalMs: ctx.settings.ORDER_SWEEP_INTERVAL_MS,
    }),
  email: (ctx) => createEmailConsumer({ from: ctx.settings.EMAIL_FROM }),
  fulfillment: (ctx) =>
    createFulfillmentConsumer({
      provider: createFulfillmentProvider(ctx.settings, ctx.warehouse),
      statusCache: createRedisOrderStatusCache(ctx.redis()),
      pollIntervalMs: ctx.settings.FULFILLMENT_POLL_INTERVAL_MS,
    }),
  "cart-persistence": () => cartPersistenceConsumer,
};

export const CONSUMER_NAMES: readonly string[] = Object.keys(CONSUMER_REGISTRY);
