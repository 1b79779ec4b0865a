import { execFileSync } from "node:child_process";
import { Redis } from "ioredis";
import type { TestProject } from "vitest/node";
import { seedCatalog } from "../db/seed.ts";
import { startDrills } from "./drills.ts";
import { deleteRunTopics, runPrefix } from "./kafka/run-topics.ts";
import { freePort } from "./processes.ts";
import { REPO_ROOT, startStack } from "./stack.ts";
import type { TestStackContext } from "./test-context.ts";

/** Credentials of the test stack only; they protect nothing outside this process's loopback ports. */
export const TEST_SECRETS = {
  redisRestToken: "test-redis-token",
  cacheRedisRestToken: "test-cache-redis-token",
  edgeDatabasePassword: "test-edge-password",
  kafkaRestUsername: "storefront-test",
  kafkaRestPassword: "test-kafka-password",
  kafkaRestOpsUsername: "ops-test",
  kafkaRestOpsPassword: "test-kafka-ops-password",
  adminToken: "test-admin-token",
  drillRedisRestToken: "test-drill-redis-token",
} as const;

/** The test run's cache Redis budget: small, so a test fills it in moments. */
const CACHE_REDIS_MAX_MEMORY = "16mb";

/** The checkout worker bundled exactly as `wrangler deploy` would, for the storefront's service binding in tests. */
export const CHECKOUT_BUNDLE = `${REPO_ROOT}.local/checkout-build/index.js`;
/** The storefront worker bundled the same way, for the end-to-end tests (e2e/) that run both in Miniflare. */
export const STOREFRONT_BUNDLE = `${REPO_ROOT}.local/storefront-build/index.js`;

const bundleWorker = (outdir: string, config: string): void => {
  execFileSync(
    `${REPO_ROOT}node_modules/.bin/wrangler`,
    ["deploy", "--dry-run", "--outdir", `${REPO_ROOT}${outdir}`, "-c", `${REPO_ROOT}${config}`],
    { stdio: "ignore", env: { ...process.env, WRANGLER_SEND_METRICS: "false" } },
  );
};

/** Bundles both workers as `wrangler deploy` would (into CHECKOUT_BUNDLE and STOREFRONT_BUNDLE). */
export const bundleWorkers = (): void => {
  bundleWorker(".local/checkout-build", "workers/checkout/wrangler.toml");
  bundleWorker(".local/storefront-build", "wrangler.toml");
};

/**
 * Starts the real services once for the whole run (reusing any that already answer) and hands their
 * addresses to every test project through `inject("stack")`.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  bundleWorkers();
  const redisUrl = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379/1";
  const databaseUrl = process.env.TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/storefront_test";
  // Topics and consumer groups of this run only: a dev stack, a benchmark or another test run on the
  // same broker never consume its events, nor it theirs.
  const kafkaTopicPrefix = runPrefix("test");
  const stack = await startStack({
    redisUrl,
    databaseUrl,
    kafkaBrokers: process.env.KAFKA_BROKERS?.split(",").filter(Boolean),
    redisRestPort: 0,
    redisRestToken: TEST_SECRETS.redisRestToken,
    // A cache Redis of the run's own, small enough for a test to fill it.
    cacheRedisUrl: "redis://127.0.0.1:0",
    cacheRedisRestPort: 0,
    cacheRedisRestToken: TEST_SECRETS.cacheRedisRestToken,
    cacheRedisMaxMemory: CACHE_REDIS_MAX_MEMORY,
    edgeDatabasePassword: TEST_SECRETS.edgeDatabasePassword,
    neonPort: 0,
    kafkaRestPort: 0,
    kafkaRestUsername: TEST_SECRETS.kafkaRestUsername,
    kafkaRestPassword: TEST_SECRETS.kafkaRestPassword,
    kafkaRestOpsUsername: TEST_SECRETS.kafkaRestOpsUsername,
    kafkaRestOpsPassword: TEST_SECRETS.kafkaRestOpsPassword,
    topicPartitions: 4,
    topicPrefix: kafkaTopicPrefix,
    log: (msg) => console.log(`[test-stack] ${msg}`),
  });
  await seedCatalog(databaseUrl, { count: 1000 });
  // Redis logical database of the tests only: start every run from an empty cache.
  const redis = new Redis(redisUrl);
  await redis.flushdb();
  redis.disconnect();
  const drills = await startDrills({
    dataDir: `${REPO_ROOT}.local/drill-postgres-${process.pid}`,
    postgresPort: await freePort(),
    redisDir: `${REPO_ROOT}.local/drill-redis-${process.pid}`,
    redisRestToken: TEST_SECRETS.drillRedisRestToken,
    edgePassword: TEST_SECRETS.edgeDatabasePassword,
  });
  const context: TestStackContext = {
    redisUrl,
    databaseUrl,
    edgeDatabaseUrl: stack.edgeDatabaseUrl,
    cacheRedisUrl: stack.cacheRedisUrl,
    cacheRedisRestUrl: stack.cacheRedisRestUrl,
    cacheRedisRestToken: TEST_SECRETS.cacheRedisRestToken,
    cacheRedisMaxMemory: CACHE_REDIS_MAX_MEMORY,
    kafkaBrokers: stack.kafkaBrokers.join(","),
    kafkaTopicPrefix,
    redisRestUrl: stack.redisRestUrl,
    redisRestToken: TEST_SECRETS.redisRestToken,
    neonUrl: stack.neonUrl,
    kafkaRestUrl: stack.kafkaRestUrl,
    kafkaRestUsername: TEST_SECRETS.kafkaRestUsername,
    kafkaRestPassword: TEST_SECRETS.kafkaRestPassword,
    kafkaRestOpsUsername: TEST_SECRETS.kafkaRestOpsUsername,
    kafkaRestOpsPassword: TEST_SECRETS.kafkaRestOpsPassword,
    adminToken: TEST_SECRETS.adminToken,
    drillControlUrl: drills.controlUrl,
    drillDatabaseUrl: drills.postgresUrl,
    drillEdgeDatabaseUrl: drills.edgePostgresUrl,
    drillNeonUrl: drills.neonUrl,
    drillRedisUrl: drills.redisUrl,
    drillRedisRestUrl: drills.redisRestUrl,
    drillRedisRestToken: drills.redisRestToken,
  };
  project.provide("stack", context);
  return async () => {
    await drills.close();
    // Before the stack stops the broker it may have started. Left topics cost the broker disk, not
    // the tests their result: say so and go on.
    await deleteRunTopics(stack.kafkaBrokers, kafkaTopicPrefix).catch((error: unknown) =>
      console.warn(
        `[test-stack] could not delete the ${kafkaTopicPrefix}* topics and groups: ${String(error)}`,
      ),
    );
    await stack.close();
  };
}
