import { env } from "cloudflare:test";
import { neon } from "@neondatabase/serverless";
import { afterAll, describe, expect, inject, it } from "vitest";
import { stockKey } from "../../../../domain/stock-counter.ts";
import { configureNeon, redisClient } from "../../../platform/clients.ts";
import { cartLines, checkoutBody, expectError, filledCart, newKey, postCheckout } from "../test-support.ts";

/**
 * Checkout through a Postgres outage, on the drill's throwaway PostgreSQL (every call of this file
 * goes there, since the Neon driver's endpoint is one per isolate): the edge stock counter's last
 * known level stands in for Postgres, however old, so checkouts of products whose level was known
 * keep answering 202; Postgres decides when it is back.
 */
const stack = inject("stack");
const drill = {
  DATABASE_URL: stack.drillDatabaseUrl,
  NEON_LOCAL_ENDPOINT: stack.drillNeonUrl,
  DATABASE_TIMEOUT_MS: "1000",
} satisfies Record<string, string>;

const control = async (action: "stop" | "start") => {
  const res = await fetch(`${stack.drillControlUrl}/postgres/${action}`, { method: "POST" });
  expect(res.status).toBe(204);
};
afterAll(() => control("start"));

/** A product with `available` units, straight in the drill Postgres. */
const insertProduct = async (available: number): Promise<string> => {
  const id = `outage_${crypto.randomUUID().slice(0, 12)}`;
  configureNeon({ ...env, ...drill });
  const sql = neon(stack.drillDatabaseUrl);
  await sql`insert into categories (slug, name) values ('office', 'Office') on conflict do nothing`;
  await sql`insert into products (id, sku, name, description, price_cents, currency, category)
    values (${id}, ${id}, ${`Outage ${id}`}, 'A product of the outage drill', 1500, 'USD', 'office')`;
  await sql`insert into product_variants (id, product_id, sku, price_cents) values (${id}, ${id}, ${id}, 1500)`;
  await sql`insert into inventory (variant_id, available) values (${id}, ${available})`;
  return id;
};

const checkout = (cartId: string) => postCheckout(checkoutBody(cartId), newKey(), drill);

describe("checkout while Postgres is down", () => {
  it("answers 202 from the last known stock level however old, and 503 for a product whose level was never known", async () => {
    const known = await insertProduct(10);
    const unknown = await insertProduct(10);
    // While Postgres is up, a checkout of each caches its catalog entry and loads its level.
    expect((await checkout(await filledCart([[known, 1]]))).status).toBe(202);
    expect((await checkout(await filledCart([[unknown, 1]]))).status).toBe(202);
    const redis = redisClient(env, { raw: true });
    // One level was synced long ago; the other was lost by Redis.
    await redis.hset(stockKey(known), { s: "0" });
    await redis.del(stockKey(unknown));
    const carts = await Promise.all([filledCart([[known, 2]]), filledCart([[unknown, 1]])]);

    await control("stop");
    try {
      expect((await checkout(carts[0] ?? "")).status).toBe(202);
      await expectError(await checkout(carts[1] ?? ""), 503, "dependency_unavailable");
      expect(await cartLines(carts[1] ?? "")).toEqual([{ variantId: unknown, qty: 1 }]);
    } finally {
      await control("start");
    }
    // The known product's units are held (1 + 2 of 10), whatever Postgres says when it is back.
    const level = Number(await redis.hget(stockKey(known), "pg"));
    const held = Number(await redis.hget(stockKey(known), "h"));
    expect(level - held).toBe(7);
  });
});
