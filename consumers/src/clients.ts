import { Redis } from "ioredis";
import { createNodeDb } from "../../db/node-client.ts";
import type { Settings } from "./config.ts";
import {
  createSimulatedWarehouse,
  type FulfillmentProvider,
  withProviderDeadline,
} from "./fulfillment/index.ts";
import {
  createSimulatedProcessor,
  createStripeProcessor,
  type PaymentProcessor,
  type SimulatedProcessor,
  withDeadline,
} from "./payment/index.ts";

/**
 * The consumers' clients of their dependencies, each with a deadline on every call (from the
 * settings), so a hung dependency fails calls instead of hanging a consumer: the runner treats
 * those failures as the dependency being down and waits it out (runtime/failures.ts).
 */

type PgSettings = Pick<
  Settings,
  | "PG_POOL_MAX"
  | "PG_CONNECT_TIMEOUT_MS"
  | "PG_STATEMENT_TIMEOUT_MS"
  | "PG_IDLE_IN_TRANSACTION_TIMEOUT_MS"
  | "PG_QUERY_TIMEOUT_MS"
>;

/**
 * The Postgres pool: connect, statement, idle-in-transaction and client-side query deadlines, TCP
 * keepalive, and statements prepared once per connection.
 */
export const createConsumerDb = (databaseUrl: string, s: PgSettings): ReturnType<typeof createNodeDb> =>
  createNodeDb(databaseUrl, {
    max: s.PG_POOL_MAX,
    connectionTimeoutMillis: s.PG_CONNECT_TIMEOUT_MS,
    statement_timeout: s.PG_STATEMENT_TIMEOUT_MS,
    idle_in_transaction_session_timeout: s.PG_IDLE_IN_TRANSACTION_TIMEOUT_MS,
    query_timeout: s.PG_QUERY_TIMEOUT_MS,
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
    preparedStatements: true,
  });

type RedisSettings = Pick<
  Settings,
  "REDIS_CONNECT_TIMEOUT_MS" | "REDIS_COMMAND_TIMEOUT_MS" | "REDIS_MAX_RETRIES_PER_REQUEST"
>;

/** The Redis client: connect and command deadlines, a bounded number of retries per command. */
export const createConsumerRedis = (redisUrl: string, s: RedisSettings): Redis =>
  new Redis(redisUrl, {
    connectTimeout: s.REDIS_CONNECT_TIMEOUT_MS,
    commandTimeout: s.REDIS_COMMAND_TIMEOUT_MS,
    maxRetriesPerRequest: s.REDIS_MAX_RETRIES_PER_REQUEST,
    keepAlive: 10_000,
  });

type SimulatorSettings = Pick<
  Settings,
  | "PAYMENT_SIM_LATENCY_MS"
  | "PAYMENT_SIM_FAILURE_RATE"
  | "PAYMENT_SIM_SLOW_MS"
  | "PAYMENT_SIM_LATE_MS"
  | "PAYMENT_SIM_LATE_FOR_MS"
>;

/** The simulated processor as the settings describe it. */
export const createConfiguredSimulator = (s: SimulatorSettings): SimulatedProcessor => {
  const processor = createSimulatedProcessor({
    latencyMs: s.PAYMENT_SIM_LATENCY_MS,
    failureRate: s.PAYMENT_SIM_FAILURE_RATE,
    slowForMs: s.PAYMENT_SIM_SLOW_MS,
  });
  if (s.PAYMENT_SIM_LATE_MS > 0) processor.answerLate(s.PAYMENT_SIM_LATE_MS, s.PAYMENT_SIM_LATE_FOR_MS);
  return processor;
};

type ProcessorSettings = SimulatorSettings &
  Pick<
    Settings,
    | "PAYMENT_PROCESSOR"
    | "PAYMENT_PROCESSOR_TIMEOUT_MS"
    | "STRIPE_SECRET_KEY"
    | "STRIPE_API_URL"
    | "STRIPE_MAX_NETWORK_RETRIES"
  >;

/** The processor PAYMENT_PROCESSOR names, as the settings describe it. */
export const createConfiguredProcessor = (s: ProcessorSettings): PaymentProcessor => {
  if (s.PAYMENT_PROCESSOR === "simulator") return createConfiguredSimulator(s);
  if (!s.STRIPE_SECRET_KEY) throw new Error("STRIPE_SECRET_KEY is required with PAYMENT_PROCESSOR=stripe");
  return createStripeProcessor({
    secretKey: s.STRIPE_SECRET_KEY,
    apiUrl: s.STRIPE_API_URL,
    timeoutMs: s.PAYMENT_PROCESSOR_TIMEOUT_MS,
    maxNetworkRetries: s.STRIPE_MAX_NETWORK_RETRIES,
  });
};

/** The payment processor, every call (the SDK's own retries included) under PAYMENT_PROCESSOR_TIMEOUT_MS. */
export const createPaymentProcessor = (
  s: ProcessorSettings,
  processor: PaymentProcessor = createConfiguredProcessor(s),
): PaymentProcessor => withDeadline(processor, s.PAYMENT_PROCESSOR_TIMEOUT_MS);

type WarehouseSettings = Pick<
  Settings,
  | "FULFILLMENT_PROVIDER_TIMEOUT_MS"
  | "FULFILLMENT_SIM_LATENCY_MS"
  | "FULFILLMENT_SIM_FAILURE_RATE"
  | "FULFILLMENT_SIM_SHIP_DELAY_MS"
>;

/** The warehouse (the simulated one), every call under FULFILLMENT_PROVIDER_TIMEOUT_MS. */
export const createFulfillmentProvider = (
  s: WarehouseSettings,
  provider: FulfillmentProvider = createSimulatedWarehouse({
    latencyMs: s.FULFILLMENT_SIM_LATENCY_MS,
    failureRate: s.FULFILLMENT_SIM_FAILURE_RATE,
    shipDelayMs: s.FULFILLMENT_SIM_SHIP_DELAY_MS,
  }),
): FulfillmentProvider => withProviderDeadline(provider, s.FULFILLMENT_PROVIDER_TIMEOUT_MS);
