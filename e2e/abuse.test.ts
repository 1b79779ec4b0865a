import { randomBytes, randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import pMap from "p-map";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { startWorkers, type Workers } from "../local/workers.ts";
import { uniqueProductId } from "./support/api.ts";
import { useE2e } from "./support/fixture.ts";
import { waitFor } from "./support/pipeline.ts";

/**
 * Bots against the running storefront (both workers in Miniflare, the pipeline, the real Redis
 * servers and a PostgreSQL with pg_stat_statements, which counts the queries that really reached it):
 * made-up cursors and searches do not grow the state Redis, a full cache Redis evicts only cache,
 * one client's flood of cache misses stops at its limit, and a query past the workers'
 * statement_timeout ends in Postgres itself.
 */
const stack = inject("stack");
const DAY = String(24 * 3600);
const word = () => `w${randomBytes(6).toString("hex")}`;
const randomCartId = () => randomBytes(16).toString("base64url");

const usedMemory = async (redis: Redis): Promise<number> =>
  Number(/used_memory:(\d+)/.exec(await redis.info("memory"))?.[1]);
const stat = async (redis: Redis, name: string): Promise<number> =>
  Number(new RegExp(`${name}:(\\d+)`).exec(await redis.info("stats"))?.[1]);

describe("bots against the storefront", () => {
  const e2e = useE2e({
    services: {
      databaseUrl: stack.drillDatabaseUrl,
      edgeDatabaseUrl: stack.drillEdgeDatabaseUrl,
      neonUrl: stack.drillNeonUrl,
    },
  });
  const owner = new pg.Pool({ connectionString: stack.drillDatabaseUrl, max: 2 });
  const state = new Redis(stack.redisUrl);
  const cache = new Redis(stack.cacheRedisUrl);
  /** The same workers with production-like limits on one client's misses. */
  let limited: Workers;

  beforeAll(async () => {
    limited = await startWorkers(e2e.stack, {
      ORIGIN_MISS_LIMIT: "200",
      ORIGIN_MISS_WINDOW_SECONDS: DAY,
      ORIGIN_MISS_GLOBAL_LIMIT: "100000",
    });
  });
  afterAll(async () => {
    await limited?.dispose();
    await owner.end();
    state.disconnect();
    cache.disconnect();
  });

  it("20,000 requests with made-up cursors and searches from five addresses leave the state Redis as it was", async () => {
    const before = { state: await usedMemory(state), cache: await usedMemory(cache) };
    const statuses = new Map<number, number>();
    await pMap(
      Array.from({ length: 20_000 }, (_, i) => i),
      async (i) => {
        const query =
          i % 2 === 0
            ? `category=kitchen&cursor=${randomBytes(24).toString("base64url")}.${randomBytes(16).toString("base64url")}`
            : `q=${word()}`;
        const res = await fetch(`${limited.url}/v1/products?${query}`, {
          headers: { "CF-Connecting-IP": `203.0.113.${Math.floor(i / 2) % 5}` },
        });
        await res.arrayBuffer();
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      },
      { concurrency: 16 },
    );
    const after = { state: await usedMemory(state), cache: await usedMemory(cache) };
    const grew = { state: after.state - before.state, cache: after.cache - before.cache };
    console.log(
      `[abuse] 20,000 requests from 5 addresses (10,000 forged cursors, 10,000 new searches): ` +
        `${JSON.stringify(Object.fromEntries(statuses))}; state Redis ${(grew.state / 1024).toFixed(0)} KiB, ` +
        `cache Redis ${(grew.cache / 1024).toFixed(0)} KiB (budget ${stack.cacheRedisMaxMemory})`,
    );
    // Forged cursors are refused before any lookup; each address has 200 misses, then 429.
    expect(Object.fromEntries(statuses)).toEqual({ 400: 10_000, 200: 1_000, 429: 9_000 });
    expect(grew.state).toBeLessThan(1_000_000);
  }, 600_000);

  it("one client's 5,000 unknown cart ids and 2,000 new searches: 429 past its limit, Postgres asked 200 times", async () => {
    const queries = async () =>
      Number(
        (
          await owner.query<{ n: string }>(
            `select coalesce(sum(s.calls), 0) as n from pg_stat_statements s
             join pg_roles r on r.oid = s.userid where r.rolname = 'storefront_edge'`,
          )
        ).rows[0]?.n,
      );
    const ip = "198.51.100.23";
    const before = await queries();
    const statuses = new Map<string, number>();
    const count = (kind: string, status: number) => {
      const key = `${kind} ${status}`;
      statuses.set(key, (statuses.get(key) ?? 0) + 1);
    };
    await pMap(
      Array.from({ length: 7_000 }, (_, i) => i),
      async (i) => {
        const [kind, path] =
          i < 5_000 ? ["cart", `/v1/carts/${randomCartId()}`] : ["search", `/v1/products?q=${word()}`];
        const res = await fetch(`${limited.url}${path}`, { headers: { "CF-Connecting-IP": ip } });
        await res.arrayBuffer();
        count(kind, res.status);
      },
      { concurrency: 16 },
    );
    const caused = (await queries()) - before;
    console.log(
      `[abuse] one client, 5,000 unknown cart ids then 2,000 new searches: ${JSON.stringify(Object.fromEntries(statuses))}; ` +
        `${caused} Postgres queries`,
    );
    expect(Object.fromEntries(statuses)).toEqual({ "cart 404": 200, "cart 429": 4_800, "search 429": 2_000 });
    expect(caused).toBeLessThanOrEqual(200);
    // Another client is not held back by the first one's limit.
    expect(
      (
        await fetch(`${limited.url}/v1/products?q=${word()}`, {
          headers: { "CF-Connecting-IP": "198.51.100.99" },
        })
      ).status,
    ).toBe(200);
  }, 600_000);

  it("a query past the statement timeout ends in Postgres, not only at the worker's deadline", async () => {
    const locker = await owner.connect();
    try {
      await locker.query("begin");
      await locker.query("lock table products in access exclusive mode");
      // The role's own setting, server-side, whatever the client: a direct connection as the workers' role.
      const edge = new pg.Client({ connectionString: stack.drillEdgeDatabaseUrl });
      await edge.connect();
      await expect(edge.query("select count(*) from products")).rejects.toMatchObject({ code: "57014" });
      await edge.end();
      // Through the workers: the search waits on the lock, is cancelled by Postgres, and is gone from
      // pg_stat_activity while the lock is still held.
      const waiting = async () =>
        Number(
          (
            await owner.query<{ n: string }>(
              `select count(*) as n from pg_stat_activity
               where usename = 'storefront_edge' and wait_event_type = 'Lock'`,
            )
          ).rows[0]?.n,
        );
      const answer = fetch(`${e2e.workers.url}/v1/products?q=${word()}`);
      await waitFor(
        "the search waiting on the lock in Postgres",
        async () => (await waiting()) === 1,
        10_000,
      );
      expect((await answer).status).toBe(503);
      await waitFor("no query of the workers left in Postgres", async () => (await waiting()) === 0, 10_000);
    } finally {
      await locker.query("rollback");
      locker.release();
    }
  }, 60_000);

  it("a cache Redis filled to its limit evicts cache only: every state key survives and the shop goes on", async () => {
    expect(await state.config("GET", "maxmemory-policy")).toEqual(["maxmemory-policy", "noeviction"]);
    expect(await cache.config("GET", "maxmemory-policy")).toEqual(["maxmemory-policy", "allkeys-lru"]);
    const productId = uniqueProductId("e2e_abuse");
    await e2e.api.createProduct(productId, 10);
    const cartId = await e2e.api.cartWith(productId, 2);
    const paid = await e2e.api.checkout(await e2e.api.cartWith(productId, 1), "tok_visa");
    expect(paid.status).toBe(202);
    const orderId = paid.order?.orderId ?? "";
    const signUp = await fetch(`${e2e.workers.url}/v1/customers`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        email: `abuse-${randomUUID().slice(0, 8)}@example.com`,
        password: "correct horse battery staple",
      }),
    });
    const { token } = (await signUp.json()) as { token: string };
    expect(
      (
        await fetch(`${e2e.workers.url}/v1/sessions/current`, {
          method: "DELETE",
          headers: { authorization: `Bearer ${token}` },
        })
      ).status,
    ).toBe(204);
    const stateKeys = [`cart:${cartId}`, `order:${orderId}`, `stock:${productId}`];
    const counts = async () => ({
      keys: await Promise.all(stateKeys.map((key) => state.exists(key))),
      idempotency: (await state.keys("idem:checkout:*")).length,
      revoked: (await state.keys("session-revoked:*")).length,
    });
    const held = await counts();
    expect(held.keys).toEqual([1, 1, 1]);

    // Far more than the cache's budget, straight into it.
    const evictedBefore = await stat(cache, "evicted_keys");
    const budget = Number((await cache.config("GET", "maxmemory"))[1]);
    const chunk = randomBytes(16 * 1024).toString("base64");
    for (let written = 0; written < budget * 2; written += chunk.length * 100) {
      const pipeline = cache.pipeline();
      for (let i = 0; i < 100; i++) pipeline.set(`fill:${randomUUID()}`, chunk);
      await pipeline.exec();
    }
    const evicted = (await stat(cache, "evicted_keys")) - evictedBefore;
    console.log(
      `[abuse] cache Redis filled: ${evicted} keys evicted, ${(await usedMemory(cache)) >> 20} MiB used of ${budget >> 20} MiB`,
    );
    expect(evicted).toBeGreaterThan(0);
    expect(await usedMemory(cache)).toBeLessThanOrEqual(budget * 1.1);

    expect(await counts()).toEqual(held);
    const cart = (await (await fetch(`${e2e.workers.url}/v1/carts/${cartId}`)).json()) as {
      items: Array<{ qty: number }>;
    };
    expect(cart.items).toMatchObject([{ qty: 2 }]);
    expect(
      (await fetch(`${e2e.workers.url}/v1/customers/me`, { headers: { authorization: `Bearer ${token}` } }))
        .status,
    ).toBe(401);
    expect((await e2e.api.checkout(cartId, "tok_visa")).status).toBe(202);
    expect((await fetch(`${e2e.workers.url}/v1/products?category=kitchen`)).status).toBe(200);
    expect((await e2e.api.waitFinal([orderId])).get(orderId)?.status).toBe("confirmed");
  }, 300_000);
});
