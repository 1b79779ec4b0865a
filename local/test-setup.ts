import type { TestProject } from "vitest/node";
import { seedCatalog } from "../db/seed.ts";
import { startStack } from "./stack.ts";

/** Credentials of the test stack only; they protect nothing outside this process's loopback ports. */
export const TEST_SECRETS = {
  redisRestToken: "test-redis-token",
  kafkaRestUsername: "storefront-test",
  kafkaRestPassword: "test-kafka-password",
  adminToken: "test-admin-token",
} as const;

export interface TestStackContext {
  redisUrl: string;
  databaseUrl: string;
  kafkaBrokers: string;
  redisRestUrl: string;
  redisRestToken: string;
  neonUrl: string;
  kafkaRestUrl: string;
  kafkaRestUsername: string;
  kafkaRestPassword: string;
  adminToken: string;
}

declare module "vitest" {
  export interface ProvidedContext {
    stack: TestStackContext;
  }
}

/**
 * Starts the real services once for the whole run (reusing any that already answer) and hands their
 * addresses to every test project through `inject("stack")`.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const redisUrl = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379/1";
  const databaseUrl = process.env.TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/storefront_test";
  const stack = await startStack({
    redisUrl,
    databaseUrl,
    kafkaBrokers: process.env.KAFKA_BROKERS?.split(",").filter(Boolean),
    redisRestPort: 0,
    redisRestToken: TEST_SECRETS.redisRestToken,
    neonPort: 0,
    kafkaRestPort: 0,
    kafkaRestUsername: TEST_SECRETS.kafkaRestUsername,
    kafkaRestPassword: TEST_SECRETS.kafkaRestPassword,
    topicPartitions: 4,
    log: (msg) => console.log(`[test-stack] ${msg}`),
  });
  await seedCatalog(databaseUrl, { count: 1000 });
  project.provide("stack", {
    redisUrl,
    databaseUrl,
    kafkaBrokers: stack.kafkaBrokers.join(","),
    redisRestUrl: stack.redisRestUrl,
    redisRestToken: TEST_SECRETS.redisRestToken,
    neonUrl: stack.neonUrl,
    kafkaRestUrl: stack.kafkaRestUrl,
    kafkaRestUsername: TEST_SECRETS.kafkaRestUsername,
    kafkaRestPassword: TEST_SECRETS.kafkaRestPassword,
    adminToken: TEST_SECRETS.adminToken,
  });
  return () => stack.close();
}
