import { neon } from "@neondatabase/serverless";
import { afterAll, describe, expect, inject, it } from "vitest";
import { configureNeon } from "../../../platform/clients.ts";
import { admin, call, expectError, json, productInput, uniqueProductId } from "../test-support.ts";
import type { Product } from "./schemas.ts";

/**
 * Drills against a throwaway PostgreSQL of their own (see local/drills.ts): the shared one stays up
 * for the rest of the suite. The edge cache is off (max-age 0) so every answer shows the Redis layer.
 */
const stack = inject("stack");
const DRILL_REQUESTS = 2_000;
const drill = {
  DATABASE_URL: stack.drillDatabaseUrl,
  NEON_LOCAL_ENDPOINT: stack.drillNeonUrl,
  CATALOG_MAX_AGE_SECONDS: "0",
  CATALOG_LIST_MAX_AGE_SECONDS: "0",
};

const postgres = async (action: "stop" | "start") => {
  const res = await fetch(`${stack.drillControlUrl}/postgres/${action}`, { method: "POST" });
  expect(res.status).toBe(204);
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
    // Create the product straight in Postgres (no write-through), so Redis has never seen it.
    configureNeon({ ...drill } as unknown as Env);
    const input = productInput();
    await neon(
      stack.drillDatabaseUrl,
    )`insert into categories (slug, name) values ('office', 'Office') on conflict do nothing`;
    await neon(
      stack.drillDatabaseUrl,
    )`insert into products (id, sku, name, description, price_cents, currency, category)
      values (${id}, ${input.sku}, ${input.name}, ${input.description}, ${input.priceCents}, 'USD', 'office')`;
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
        const body = await json<Product>(res);
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
