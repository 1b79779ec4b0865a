import { randomUUID } from "node:crypto";
import { rmSync } from "node:fs";
import { and, eq } from "drizzle-orm";
import { Redis } from "ioredis";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { effects } from "../../../db/schema/index.ts";
import { freePort } from "../../../local/processes.ts";
import { type RedisServer, startRedisServer } from "../../../local/redis-server.ts";
import { REPO_ROOT } from "../../../local/stack.ts";
import { connectTestDb } from "../test-support/handler-harness.ts";
import { waitUntil } from "../test-support/kafka.ts";
import { createEffectsRelay, defineEffect, type EffectsRelay } from "./effects.ts";
import { scopedTransaction } from "./transaction.ts";

/**
 * Durable side effects against the real Postgres and a Redis of this file's own (which the outage
 * test freezes with SIGSTOP): recorded in the transaction, applied after the commit, waited for while
 * Redis is down, parked when they fail for good.
 */
const { db, pool } = connectTestDb(6);
const silent = pino({ level: "silent" });
const scope = `effects-test-${randomUUID().slice(0, 8)}.`;
const relays: EffectsRelay[] = [];
const redisDir = `${REPO_ROOT}.local/effects-test-redis-${process.pid}`;
let server: RedisServer;
let redis: Redis;
beforeAll(async () => {
  server = await startRedisServer({
    port: await freePort(),
    dir: `${REPO_ROOT}.local/effects-test-${process.pid}`,
  });
  redis = new Redis(server.url, { commandTimeout: 300, maxRetriesPerRequest: 0 });
});
afterAll(async () => {
  server?.resume();
  await Promise.all(relays.map((relay) => relay.stop()));
  await db.delete(effects).where(eq(effects.scope, scope));
  redis?.disconnect();
  await server?.stop();
  rmSync(redisDir, { recursive: true, force: true });
  await pool.end();
});

const applied: string[] = [];
const probe = defineEffect(
  "effects-test-set",
  z.object({ value: z.string(), poison: z.boolean().optional() }),
  async (key, payload) => {
    if (payload.poison) throw new Error(`poison effect ${key}`);
    await redis.set(key, payload.value);
    applied.push(key);
  },
);

const startRelay = (relayScope = scope) => {
  const relay = createEffectsRelay({
    db,
    log: silent,
    scope: relayScope,
    intervalMs: 100,
    retry: { initialMs: 10, maxMs: 20, maxAttempts: 3 },
    dependencyBackoff: { initialMs: 50, maxMs: 200 },
  });
  relay.register([probe]);
  relays.push(relay);
  return relay;
};

/** Records `count` probe effects in one transaction; answers their keys. */
const record = async (count: number, payload: { poison?: boolean } = {}, recordScope = scope) => {
  const keys = Array.from({ length: count }, () => `effects-test:${randomUUID()}`);
  await scopedTransaction(db, silent, { topicName: (t) => t, scope: recordScope }, async ({ ctx }) => {
    for (const key of keys) ctx.effect(probe, key, { value: "done", ...payload });
  });
  return keys;
};

const rowsOf = (keys: string[]) =>
  Promise.all(
    keys.map(
      async (key) =>
        (
          await db
            .select()
            .from(effects)
            .where(and(eq(effects.scope, scope), eq(effects.key, key)))
        )[0],
    ),
  );

describe("durable side effects", () => {
  it("are applied after their transaction commits, never for one that rolled back", async () => {
    const relay = startRelay();
    const key = `effects-test:${randomUUID()}`;
    await scopedTransaction(db, silent, { topicName: (t) => t, scope }, async ({ ctx }) => {
      ctx.effect(probe, key, { value: "committed" });
      // Not visible to the relay (another connection) before the commit.
      expect(await relay.flush()).toBe(true);
      expect(await redis.get(key)).toBeNull();
    });
    expect(await relay.flush()).toBe(true);
    expect(await redis.get(key)).toBe("committed");
    expect(await rowsOf([key])).toEqual([undefined]);

    const rolledBack = `effects-test:${randomUUID()}`;
    await expect(
      scopedTransaction(db, silent, { topicName: (t) => t, scope }, async ({ ctx }) => {
        ctx.effect(probe, rolledBack, { value: "never" });
        throw new Error("the work fails after recording the effect");
      }),
    ).rejects.toThrow(/work fails/);
    expect(await relay.flush()).toBe(true);
    expect(await redis.get(rolledBack)).toBeNull();
  });

  it("wait while Redis is frozen, without counting tries, then are each applied once", async () => {
    const relay = startRelay();
    server.pause();
    let keys: string[] = [];
    try {
      keys = await record(5);
      relay.kick();
      // The relay has met the outage (a pass failed on it) and left every row as it was.
      await waitUntil("the relay to meet the outage", async () => (await relay.flush()) === false);
      expect((await rowsOf(keys)).map((row) => ({ attempts: row?.attempts, parked: row?.parkedAt }))).toEqual(
        keys.map(() => ({ attempts: 0, parked: null })),
      );
    } finally {
      server.resume();
    }
    await waitUntil("the effects applied after the outage", async () =>
      (await rowsOf(keys)).every((row) => !row),
    );
    for (const key of keys) expect(await redis.get(key)).toBe("done");
    expect(applied.filter((key) => keys.includes(key))).toHaveLength(5);
  });

  it("park an effect that keeps failing, with its error, while the others are applied", async () => {
    const relay = startRelay();
    const [poison = ""] = await record(1, { poison: true });
    const fine = await record(3);
    relay.kick();
    await waitUntil("the poison effect parked", async () => Boolean((await rowsOf([poison]))[0]?.parkedAt));
    const [row] = await rowsOf([poison]);
    expect(row).toMatchObject({ attempts: 3, lastError: expect.stringContaining("poison effect") });
    await waitUntil("the others applied", async () => (await rowsOf(fine)).every((r) => !r));
  });

  it("leave the rows of another run's scope alone", async () => {
    const other = `effects-test-other-${randomUUID().slice(0, 8)}.`;
    const [key = ""] = await record(1, {}, other);
    const relay = startRelay();
    expect(await relay.flush()).toBe(true);
    expect(await redis.get(key)).toBeNull();
    await db.delete(effects).where(eq(effects.scope, other));
  });
});
