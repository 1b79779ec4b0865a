import { randomUUID } from "node:crypto";
import pg from "pg";
import { pino } from "pino";
import {
  createConfiguredSimulator,
  createConsumerDb,
  createConsumerRedis,
} from "../../consumers/src/clients.ts";
import { type Settings, SettingsSchema } from "../../consumers/src/config.ts";
import { createSimulatedWarehouse, type SimulatedWarehouse } from "../../consumers/src/fulfillment/index.ts";
import { startOperations } from "../../consumers/src/metrics/index.ts";
import { createRedisAckedOrders } from "../../consumers/src/orders/index.ts";
import type { SimulatedProcessor } from "../../consumers/src/payment/index.ts";
import { simulatorActions } from "../../consumers/src/payment/simulator-actions.ts";
import { runnerOptions, startProcessRuntime } from "../../consumers/src/process.ts";
import { CONSUMER_REGISTRY } from "../../consumers/src/registry.ts";
import {
  type RunnerOptions,
  type RunningConsumer,
  startConsumer,
} from "../../consumers/src/runtime/runner.ts";
import type { ConsumerDefinition } from "../../consumers/src/runtime/types.ts";
import type { Db } from "../../db/node-client.ts";

/** Silent unless TEST_LOG_LEVEL is set (e.g. `TEST_LOG_LEVEL=info npx vitest run e2e`). */
export const log = pino({ level: process.env.TEST_LOG_LEVEL ?? "silent" });

export const CONSUMER_NAMES = [
  "orders",
  "inventory",
  "payment",
  "order-state",
  "email",
  "cart-persistence",
  "fulfillment",
] as const;
export type ConsumerName = (typeof CONSUMER_NAMES)[number];

/**
 * What a file runs unless it names its consumers: the saga's, which leave a confirmed order at rest.
 * Files about what follows (fulfillment) add the fulfillment consumer, which moves it on.
 */
export const SAGA_CONSUMERS: readonly ConsumerName[] = CONSUMER_NAMES.filter(
  (name) => name !== "fulfillment",
);

export interface Pipeline {
  /** The test run's topic prefix, also before every group id (a consumers process gets the same). */
  topicPrefix: string;
  /** Appended to every group id here; a separate consumers process joins the same groups with it. */
  groupSuffix: string;
  db: Db;
  pool: pg.Pool;
  running: Map<ConsumerName, RunningConsumer>;
  /** The consumers' settings (the environment variables of consumers/src/config.ts, parsed). */
  settings: Settings;
  /** The simulated processor behind the payment consumer, to ask what it did per order. */
  processor: SimulatedProcessor;
  /** Base URL of the in-process consumers' /healthz, /readyz and /metrics (any free port). */
  operationsUrl: string;
  /** The simulated warehouse behind the fulfillment consumer, to ask what it did per order. */
  warehouse: SimulatedWarehouse;
  /** (Re)starts one consumer in this file's group; resolves once it consumes. */
  start(name: ConsumerName, opts?: RunnerOptions): Promise<RunningConsumer>;
  /** Runs an extra definition (a recorder) in this file's group namespace. */
  startExtra(def: ConsumerDefinition): Promise<RunningConsumer>;
  /** Sum of an outcome over the consumers running in-process (current instances). */
  total(outcome: "applied" | "duplicate" | "dead-lettered" | "abandoned"): number;
  /** Stops everything; answers how many Postgres clients were still checked out (should be none). */
  close(): Promise<number>;
}

/**
 * The six consumers (or `only` some) in-process, as consumers/src/main.ts runs them (one producer and
 * one outbox relay shared), each in its own group with a per-file suffix, starting at the end of the
 * topics.
 */
export const startPipeline = async (o: {
  databaseUrl: string;
  redisUrl: string;
  brokers: string[];
  /** The test run's Kafka topic prefix (TestStackContext.kafkaTopicPrefix). */
  topicPrefix: string;
  /** Runner options of single consumers (e.g. no shutdown grace, to stop them like a kill). */
  options?: Partial<Record<ConsumerName, RunnerOptions>>;
  /** The consumers started in-process (default the six of the saga); others may run in another process. */
  only?: readonly ConsumerName[];
  /** Consumer settings by environment variable name (e.g. PAYMENT_SIM_FAILURE_RATE), as main.ts reads them. */
  settings?: Record<string, string>;
}): Promise<Pipeline> => {
  const groupSuffix = `-e2e-${randomUUID().slice(0, 8)}`;
  const settings = SettingsSchema.parse({
    DATABASE_URL: o.databaseUrl,
    KAFKA_BROKERS: o.brokers.join(","),
    REDIS_URL: o.redisUrl,
    KAFKA_TOPIC_PREFIX: o.topicPrefix,
    PG_POOL_MAX: "20",
    ...o.settings,
  });
  const { db, pool } = createConsumerDb(o.databaseUrl, settings);
  const redis = createConsumerRedis(o.redisUrl, settings);
  const runtime = startProcessRuntime({
    settings,
    db,
    log,
    clientId: `e2e${groupSuffix}`,
    relayIntervalMs: 200,
  });
  const processor = createConfiguredSimulator(settings);
  const warehouse = createSimulatedWarehouse({
    latencyMs: settings.FULFILLMENT_SIM_LATENCY_MS,
    failureRate: settings.FULFILLMENT_SIM_FAILURE_RATE,
    shipDelayMs: settings.FULFILLMENT_SIM_SHIP_DELAY_MS,
  });
  const registry = { settings, redis: () => redis, processor, warehouse };
  const running = new Map<ConsumerName, RunningConsumer>();
  const extras: RunningConsumer[] = [];
  // As main.ts runs them, with quicker retries and Kafka settings, starting at the end of the topics.
  const base: RunnerOptions = {
    ...runnerOptions(settings),
    groupSuffix,
    startAt: "latest",
    retry: { maxAttempts: 5, initialMs: 50, maxMs: 500 },
    dependencyBackoff: { maxMs: 1_000 },
    shutdownTimeoutMs: 5_000,
    relayIntervalMs: 200,
    parked: { concurrency: settings.PARKED_RETRY_CONCURRENCY, intervalMs: 200 },
    kafka: { sessionTimeoutMs: 10_000, heartbeatIntervalMs: 1_000, maxWaitTimeMs: 200 },
  };
  const operations = await startOperations({
    settings: { ...settings, METRICS_PORT: 0 },
    db,
    consumers: () => [...running.values(), ...extras],
    log,
    ackedUnrecorded: () =>
      createRedisAckedOrders(redis).countOverdue(Date.now() - settings.ORDER_RECONCILE_AFTER_MS),
    paymentActions: simulatorActions({ db, simulator: processor, topicPrefix: o.topicPrefix }),
  });
  const deps = {
    db,
    pool,
    brokers: o.brokers,
    log,
    producer: runtime.producer,
    relay: runtime.relay,
    effects: runtime.effects,
    metrics: operations.metrics,
  };
  const pipeline: Pipeline = {
    topicPrefix: o.topicPrefix,
    groupSuffix,
    db,
    pool,
    running,
    settings,
    processor,
    operationsUrl: operations.url ?? "",
    warehouse,
    async start(name, opts = {}) {
      const definition = CONSUMER_REGISTRY[name];
      if (!definition) throw new Error(`no consumer ${name}`);
      const consumer = startConsumer(definition(registry), deps, { ...base, ...opts });
      running.set(name, consumer);
      await consumer.ready;
      return consumer;
    },
    async startExtra(def) {
      const consumer = startConsumer(def, deps, base);
      extras.push(consumer);
      await consumer.ready;
      return consumer;
    },
    total: (outcome) => [...running.values()].reduce((n, c) => n + c.counts()[outcome], 0),
    async close() {
      const t = Date.now();
      const step = (what: string) =>
        process.env.E2E_DEBUG && console.log(`[close] ${what} at ${Date.now() - t} ms`);
      await Promise.all(
        [...running.values(), ...extras].map((c) => c.stop().then(() => step(`stopped ${c.name}`))),
      );
      await runtime.stop();
      step("relays and producer");
      await operations.close();
      step("operations");
      redis.disconnect();
      // Every client is back in the pool once the consumers stopped, outages included
      // (db/node-client.ts releases what drizzle's pooled transaction would leak).
      const leakedClients = pool.totalCount - pool.idleCount;
      await Promise.race([pool.end(), sleep(2_000)]);
      step("pool");
      return leakedClients;
    },
  };
  await Promise.all((o.only ?? SAGA_CONSUMERS).map((name) => pipeline.start(name, o.options?.[name])));
  return pipeline;
};

/**
 * Holds a session advisory lock on the main database for the whole test file: the e2e files share
 * the test run's topics the workers publish to, so they take turns (each file's consumers would
 * otherwise also process, and finalize, the other files' orders).
 */
export const takeE2eLock = async (databaseUrl: string): Promise<() => Promise<void>> => {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  await client.query("select pg_advisory_lock(4242001)");
  return async () => {
    await client.end();
  };
};

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `check` until it answers true (or throws after `timeoutMs`). */
export const waitFor = async (
  what: string,
  check: () => Promise<boolean> | boolean,
  timeoutMs = 30_000,
): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
};
