import { afterAll, beforeAll, inject } from "vitest";
import { createNodeDb } from "../../../db/node-client.ts";
import { type RunnerDeps, type RunnerOptions, type RunningConsumer, runConsumer } from "../runtime/runner.ts";
import type { ConsumerDefinition } from "../runtime/types.ts";
import {
  brokers,
  createTestProducer,
  createTopics,
  dropTopics,
  isolation,
  type TestProducer,
  testLog,
} from "./kafka.ts";

export interface ConsumerTest {
  topicPrefix: string;
  groupSuffix: string;
  db: RunnerDeps["db"];
  pool: RunnerDeps["pool"];
  /** What `runConsumer` needs besides the definition. */
  deps: RunnerDeps;
  /** This file's runner options: its topics and groups, quick Kafka settings, and `options`. */
  options: RunnerOptions;
  /** A producer onto the real broker (there once `beforeAll` has run). */
  producer: TestProducer;
  /** `def` running (there once `beforeAll` has run, when a `def` was given). */
  runner: RunningConsumer;
}

/**
 * The set-up of a consumer integration test file: private topics (`topics`, with their `.dlq`
 * twins), a pool on the test database (or `databaseUrl`), a producer, and `def` running until the
 * file ends; then everything is stopped and the topics dropped.
 */
export const useConsumerTest = (o: {
  topics: string[];
  def?: ConsumerDefinition;
  options?: RunnerOptions;
  databaseUrl?: string;
  poolMax?: number;
  /** Partitions of each topic (default 4). */
  partitions?: number;
}): ConsumerTest => {
  const { topicPrefix, groupSuffix } = isolation();
  const { db, pool } = createNodeDb(o.databaseUrl ?? inject("stack").databaseUrl, { max: o.poolMax ?? 4 });
  const t = {
    topicPrefix,
    groupSuffix,
    db,
    pool,
    deps: { db, pool, brokers: brokers(), log: testLog },
    options: {
      topicPrefix,
      groupSuffix,
      startAt: "latest",
      relayIntervalMs: 200,
      ...o.options,
      kafka: { heartbeatIntervalMs: 500, sessionTimeoutMs: 10_000, maxWaitTimeMs: 200, ...o.options?.kafka },
    },
  } as ConsumerTest;
  beforeAll(async () => {
    await createTopics(topicPrefix, o.topics, o.partitions);
    t.producer = createTestProducer();
    if (o.def) t.runner = await runConsumer(o.def, t.deps, t.options);
  });
  afterAll(async () => {
    await t.runner?.stop();
    await t.producer?.close();
    await dropTopics(db, topicPrefix);
    await pool.end();
  });
  return t;
};
