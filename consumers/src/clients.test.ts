import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { sql } from "drizzle-orm";
import { pino } from "pino";
import { describe, expect, inject, it } from "vitest";
import { createConsumerDb, createConsumerRedis } from "./clients.ts";
import { SettingsSchema } from "./config.ts";
import { isDependencyDown } from "./runtime/failures.ts";
import { guardPool } from "./runtime/pool-guard.ts";

/** A hung Postgres or Redis fails the call in time, as a dependency being down (the runner waits it out). */
const stack = inject("stack");
const settings = (overrides: Record<string, string>) =>
  SettingsSchema.parse({ DATABASE_URL: stack.databaseUrl, KAFKA_BROKERS: "127.0.0.1:9092", ...overrides });

const failureOf = async (work: () => Promise<unknown>): Promise<{ error: unknown; ms: number }> => {
  const started = Date.now();
  const error = await work().then(
    () => new Error("expected the call to fail"),
    (e: unknown) => e,
  );
  return { error, ms: Date.now() - started };
};

describe("deadlines of the consumers' clients", () => {
  it("has sane defaults", () => {
    expect(settings({})).toMatchObject({
      PG_CONNECT_TIMEOUT_MS: 5_000,
      PG_STATEMENT_TIMEOUT_MS: 30_000,
      PG_IDLE_IN_TRANSACTION_TIMEOUT_MS: 60_000,
      PG_QUERY_TIMEOUT_MS: 35_000,
      REDIS_COMMAND_TIMEOUT_MS: 2_000,
      REDIS_MAX_RETRIES_PER_REQUEST: 2,
      PAYMENT_PROCESSOR_TIMEOUT_MS: 10_000,
      PAYMENT_RETRY_MAX_MS: 3_600_000,
      PAYMENT_STEP_LIMIT_MS: 120_000,
    });
  });

  it("ends a Postgres statement past statement_timeout, as the dependency being down", async () => {
    const { db, pool } = createConsumerDb(stack.databaseUrl, settings({ PG_STATEMENT_TIMEOUT_MS: "200" }));
    try {
      const { error, ms } = await failureOf(() => db.execute(sql`select pg_sleep(10)`));
      expect(ms).toBeLessThan(5_000);
      expect(isDependencyDown(error)).toBe(true);
    } finally {
      await pool.end();
    }
  });

  it("gives up on a Postgres answer that never comes (client-side query timeout)", async () => {
    const { db, pool } = createConsumerDb(stack.databaseUrl, settings({ PG_QUERY_TIMEOUT_MS: "200" }));
    try {
      const { error, ms } = await failureOf(() => db.execute(sql`select pg_sleep(3)`));
      expect(ms).toBeLessThan(2_500);
      expect(isDependencyDown(error)).toBe(true);
    } finally {
      await pool.end();
    }
  });

  it("ends a transaction left idle past idle_in_transaction_session_timeout", async () => {
    const s = settings({ PG_IDLE_IN_TRANSACTION_TIMEOUT_MS: "200" });
    const { db, pool } = createConsumerDb(stack.databaseUrl, s);
    guardPool(pool, pino({ level: "silent" })); // as the runner does: the failed query reports it
    try {
      const { error } = await failureOf(() =>
        db.transaction(async (tx) => {
          await tx.execute(sql`select 1`);
          await sleep(1_000);
          await tx.execute(sql`select 1`);
        }),
      );
      expect(isDependencyDown(error)).toBe(true);
    } finally {
      await pool.end();
    }
  });

  it("fails a Redis command that does not answer within its timeout", async () => {
    const redis = createConsumerRedis(stack.redisUrl, settings({ REDIS_COMMAND_TIMEOUT_MS: "100" }));
    try {
      // A blocking pop on a key nobody pushes to never answers.
      const { error, ms } = await failureOf(() => redis.blpop(`never-${randomUUID()}`, 0));
      expect(ms).toBeLessThan(2_000);
      expect(isDependencyDown(error)).toBe(true);
    } finally {
      redis.disconnect();
    }
  });
});
