import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { neon } from "@neondatabase/serverless";
import { afterAll, describe, expect, inject, it } from "vitest";
import type { ProductAnswer } from "../../../edge/catalog/index.ts";
import { configureNeon } from "../../../platform/clients.ts";
import { app } from "../index.ts";
import { admin, call, expectError, json, productInput, uniqueProductId } from "../test-support.ts";

/**
 * Drills against a throwaway PostgreSQL and a throwaway Redis of their own (see local/drills.ts): the
 * shared ones stay up for the rest of the suite. In the Postgres drills the edge cache is off
 * (max-age 0) so every answer shows the Redis layer.
 */
const stack = inject("stack");
const DRILL_REQUESTS = 2_000;
const drill = {
  DATABASE_URL: stack.drillDatabaseUrl,
  NEON_LOCAL_ENDPOINT: stack.drillNeonUrl,
  CATALOG_MAX_AGE_SECONDS: "0",
  CATALOG_LIST_MAX_AGE_SECONDS: "0",
};

const control = async (action: string) => {
  const res = await fetch(`${stack.drillControlUrl}${action}`, { method: "POST" });
  expect(res.status).toBe(204);
};
const postgres = (action: "stop" | "start") => control(`/postgres/${action}`);
const redis = (action: "pause" | "resume") => control(`/redis/${action}`);

/** The worker against the drill Redis, which a test pauses; its deadline kept short. */
const REDIS_TIMEOUT_MS = 400;
const hung = {
  ...drill,
  UPSTASH_REDIS_REST_URL: stack.drillRedisRestUrl,
  UPSTASH_REDIS_REST_TOKEN: stack.drillRedisRestToken,
  REDIS_TIMEOUT_MS: String(REDIS_TIMEOUT_MS),
  CATALOG_MAX_AGE_SECONDS: "1",
};

/** A product straight in the drill Postgres (no write-through), so no cache has seen it. */
const insertProduct = async (id: string, priceCents = 12_500) => {
  configureNeon({ ...drill } as unknown as Env);
  const sql = neon(stack.drillDatabaseUrl);
  const input = productInput();
  await sql`insert into categories (slug, name) values ('office', 'Office') on conflict do nothing`;
  await sql`insert into products (id, sku, name, description, price_cents, currency, category)
    values (${id}, ${input.sku}, ${input.name}, ${input.description}, ${priceCents}, 'USD', 'office')`;
  await sql`insert into product_variants (id, product_id, sku, price_cents)
    values (${id}, ${id}, ${input.sku}, ${priceCents})`;
};

const timed = async <T>(work: () => Promise<T>): Promise<{ value: T; ms: number }> => {
  const started = Date.now();
  const value = await work();
  return { value, ms: Date.now() - started };
};

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Executions of product reads that reached Postgres, from pg_stat_statements. */
const productQueries = async (): Promise<number> => {
  configureNeon({ ...drill } as unknown as Env);
  const sql = neon(stack.drillDatabaseUrl);
  const rows = await sql`select coalesce(sum(calls), 0)::int as calls from pg_stat_statements
    where query like 'select %' and query like '%from "products"%' and query like '%"products"."id" = $1%'`;
  return Number(rows[0]?.calls ?? 0);
};

afterAll(() => postgres("start"));

describe("catalog drills on a throwaway PostgreSQL", () => {
  it("costs one Postgres query for 2,000 concurrent requests for one uncached product in one isolate", async () => {
    const id = uniqueProductId("hot");
    await insertProduct(id);
    const before = await productQueries();
    const answers = await Promise.all(
      Array.from({ length: DRILL_REQUESTS }, () => call(`/v1/products/${id}`, {}, drill)),
    );
    const statuses = new Set(answers.map((res) => res.status));
    expect([...statuses]).toEqual([200]);
    expect(answers.filter((res) => res.headers.get("X-Cache") === "MISS").length).toBeGreaterThan(0);
    await sleep(50);
    expect((await productQueries()) - before).toBe(1);
  });

  it("serves every product it ever cached while Postgres is down, and answers 503 for the rest", async () => {
    const fresh = { ...drill, CATALOG_FRESH_SECONDS: "1", CATALOG_LIST_FRESH_SECONDS: "1" };
    const ids = [uniqueProductId("s"), uniqueProductId("s"), uniqueProductId("s")];
    for (const id of ids) {
      const res = await call(
        `/v1/admin/products/${id}`,
        admin("PUT", productInput({ priceCents: 777 })),
        fresh,
      );
      expect(res.status).toBe(200);
    }
    const listed = await call("/v1/products?category=office&limit=5", {}, fresh);
    expect({ status: listed.status, cache: listed.headers.get("X-Cache") }).toEqual({
      status: 200,
      cache: "MISS",
    });
    await postgres("stop");
    try {
      await sleep(1100);
      for (const id of ids) {
        const res = await call(`/v1/products/${id}`, {}, fresh);
        const body = await json<ProductAnswer>(res);
        expect({ status: res.status, cache: res.headers.get("X-Cache"), price: body.priceCents }).toEqual({
          status: 200,
          cache: "STALE",
          price: 777,
        });
      }
      const list = await call("/v1/products?category=office&limit=5", {}, fresh);
      expect({ status: list.status, cache: list.headers.get("X-Cache") }).toEqual({
        status: 200,
        cache: "STALE",
      });

      const never = await call(`/v1/products/${uniqueProductId("never")}`, {}, fresh);
      await expectError(never, 503, "dependency_unavailable");
      expect(never.headers.get("Retry-After")).toBeTruthy();
      await expectError(
        await call("/v1/products?category=toys&limit=3", {}, fresh),
        503,
        "dependency_unavailable",
      );
      await expectError(
        await call(`/v1/admin/products/${uniqueProductId()}`, admin("PUT", productInput()), fresh),
        503,
        "dependency_unavailable",
      );
    } finally {
      await postgres("start");
    }
    const back = await call(`/v1/products/${ids[0]}`, {}, fresh);
    expect(back.status).toBe(200);
  });
});

describe("catalog drills with a Redis that hangs (SIGSTOP)", () => {
  it("coalesces the misses of one isolate into one Postgres read and answers every request", async () => {
    const id = uniqueProductId("hang");
    await insertProduct(id, 4_321);
    const before = await productQueries();
    await redis("pause");
    try {
      // Timed to each answer, not to the work the requests leave running after it (cache writes).
      const started = Date.now();
      const ctxs = Array.from({ length: 500 }, () => createExecutionContext());
      const answers = await Promise.all(
        ctxs.map((ctx) =>
          app.fetch(new Request(`http://storefront.test/v1/products/${id}`), { ...env, ...hung }, ctx),
        ),
      );
      const ms = Date.now() - started;
      await Promise.all(ctxs.map((ctx) => waitOnExecutionContext(ctx)));
      const bodies = await Promise.all(answers.map((res) => json<ProductAnswer>(res)));
      expect(new Set(answers.map((res) => `${res.status} ${res.headers.get("X-Cache")}`))).toEqual(
        new Set(["200 MISS"]),
      );
      expect(new Set(bodies.map((body) => body.priceCents))).toEqual(new Set([4_321]));
      expect(ms).toBeLessThan(10_000); // bounded by the Redis deadline (400 ms), not by the hang
      await sleep(50);
      expect((await productQueries()) - before).toBe(1);
    } finally {
      await redis("resume");
    }
  });

  it("answers an admin update it cannot write through with a fast 503; repeating it fixes every cache", async () => {
    const id = uniqueProductId("wt");
    const input = productInput({ priceCents: 100 });
    expect((await call(`/v1/admin/products/${id}`, admin("PUT", input), hung)).status).toBe(200);
    await redis("pause");
    let failed: Response;
    let ms: number;
    try {
      ({ value: failed, ms } = await timed(() =>
        call(`/v1/admin/products/${id}`, admin("PUT", { ...input, priceCents: 200 }), hung),
      ));
    } finally {
      await redis("resume");
    }
    await expectError(failed, 503, "dependency_unavailable");
    expect(Number(failed.headers.get("Retry-After"))).toBeGreaterThan(0);
    expect(ms).toBeLessThan(10_000);
    const repeated = await call(
      `/v1/admin/products/${id}`,
      admin("PUT", { ...input, priceCents: 200 }),
      hung,
    );
    expect(repeated.status).toBe(200);
    const served = await json<ProductAnswer>(await call(`/v1/products/${id}`, {}, hung));
    expect(served.priceCents).toBe(200);
  });

  it("serves the edge copy past its max-age when Redis hangs and Postgres is down, else a fast 503", async () => {
    const id = uniqueProductId("edge");
    const saved = await call(
      `/v1/admin/products/${id}`,
      admin("PUT", productInput({ priceCents: 888 })),
      hung,
    );
    expect(saved.status).toBe(200);
    const first = await call(`/v1/products/${id}`, {}, hung);
    expect({ status: first.status, edge: first.headers.get("X-Edge-Cache") }).toEqual({
      status: 200,
      edge: "MISS",
    });
    const fresh = await call(`/v1/products/${id}`, {}, hung);
    expect(fresh.headers.get("X-Edge-Cache")).toBe("HIT");
    await sleep(1_100); // past the edge copy's max-age (1 s)
    await redis("pause");
    await postgres("stop");
    try {
      const { value: stale, ms } = await timed(() => call(`/v1/products/${id}`, {}, hung));
      expect({
        status: stale.status,
        cache: stale.headers.get("X-Cache"),
        edge: stale.headers.get("X-Edge-Cache"),
        price: (await json<ProductAnswer>(stale)).priceCents,
      }).toEqual({ status: 200, cache: "STALE", edge: "STALE", price: 888 });
      expect(stale.headers.get("Cache-Control")).toMatch(/max-age=0/);
      expect(ms).toBeLessThan(10_000);

      const { value: never, ms: neverMs } = await timed(() =>
        call(`/v1/products/${uniqueProductId("never")}`, {}, hung),
      );
      await expectError(never, 503, "dependency_unavailable");
      expect(Number(never.headers.get("Retry-After"))).toBeGreaterThan(0);
      expect(neverMs).toBeLessThan(10_000);
    } finally {
      await postgres("start");
      await redis("resume");
    }
    const back = await call(`/v1/products/${id}`, {}, hung);
    expect({ status: back.status, cache: back.headers.get("X-Cache") }).toMatchObject({ status: 200 });
  });
});
