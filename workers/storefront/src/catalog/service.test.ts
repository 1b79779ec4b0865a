import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { ProductAnswer } from "../../../edge/catalog/index.ts";
import {
  catalogDepsFor,
  isCurrentProduct,
  loadProduct,
  type ProductRecord,
  productKey,
} from "../../../edge/catalog/index.ts";
import { redisClient, sqlClient } from "../../../platform/clients.ts";
import { admin, call, createProduct, json, jsonInit, productInput } from "../test-support.ts";

interface CartAnswer {
  cartId: string;
  items: Array<{ productId: string; unitPriceCents: number }>;
}

const deps = () => catalogDepsFor(env, () => undefined);

/** What Postgres holds for a product: price and version. */
const ofRecord = async (id: string) => {
  const rows = await sqlClient(
    env,
  )`select price_cents, version::text as version from products where id = ${id}`;
  const row = rows[0] as { price_cents: number; version: string };
  return { priceCents: Number(row.price_cents), version: Number(row.version) };
};

const cached = async (id: string) => {
  const entry = await redisClient(env).get<{ v: ProductRecord; u: number }>(productKey(id));
  return { priceCents: entry?.v.product?.variants[0]?.priceCents, version: entry?.u };
};

const newCartWith = async (id: string): Promise<string> => {
  const { cartId } = await json<CartAnswer>(await call("/v1/carts", { method: "POST" }));
  expect((await call(`/v1/carts/${cartId}/items`, jsonInit("POST", { productId: id, qty: 1 }))).status).toBe(
    200,
  );
  return cartId;
};

describe("catalog versions from Postgres", () => {
  it("gives every upsert the next version, in the upsert itself", async () => {
    const id = await createProduct({ priceCents: 100 });
    expect(await ofRecord(id)).toEqual({ priceCents: 100, version: 1 });
    const input = productInput({ priceCents: 200 });
    await call(`/v1/admin/products/${id}`, admin("PUT", input));
    await call(`/v1/admin/products/${id}`, admin("PUT", { ...input, priceCents: 300 }));
    expect(await ofRecord(id)).toEqual({ priceCents: 300, version: 3 });
    expect(await cached(id)).toEqual({ priceCents: 300, version: 3 });
  });

  it("never lets a filler holding an older read overwrite a newer write-through", async () => {
    const id = await createProduct({ priceCents: 100 });
    const slowFill = await loadProduct(deps().db(), id, env.MEDIA_BASE_URL); // read before the update
    const input = productInput({ priceCents: 250 });
    expect((await call(`/v1/admin/products/${id}`, admin("PUT", input))).status).toBe(200);
    await deps().cache.write(productKey(id), deps().policies.product, slowFill); // lands after it
    expect(await cached(id)).toEqual({ priceCents: 250, version: 2 });
    expect((await json<ProductAnswer>(await call(`/v1/products/${id}`))).priceCents).toBe(250);
    // An edge copy of the older state is recognised as outdated and dropped after it is stored.
    expect(await isCurrentProduct(deps(), id, slowFill.version)).toBe(false);
    expect(await isCurrentProduct(deps(), id, 2)).toBe(true);
  });

  it("leaves the last committed of many racing price updates in Redis, the product answer and carts", async () => {
    const id = await createProduct({ priceCents: 100 });
    const cartId = await newCartWith(id);
    const input = productInput();
    const prices = Array.from({ length: 24 }, (_, i) => 1_000 + i);
    // Readers race the writers too, so read-through fills and edge copies of older states land late.
    const [writes] = await Promise.all([
      Promise.all(
        prices.map((priceCents) => call(`/v1/admin/products/${id}`, admin("PUT", { ...input, priceCents }))),
      ),
      Promise.all(prices.map(() => call(`/v1/products/${id}`))),
      Promise.all(prices.map(() => call(`/v1/carts/${cartId}`))),
    ]);
    expect(new Set(writes.map((res) => res.status))).toEqual(new Set([200]));
    const last = await ofRecord(id);
    expect(last.version).toBe(1 + prices.length);
    expect(await cached(id)).toEqual(last);
    expect((await json<ProductAnswer>(await call(`/v1/products/${id}`))).priceCents).toBe(last.priceCents);
    const cart = await json<CartAnswer>(await call(`/v1/carts/${cartId}`));
    expect(cart.items).toEqual([expect.objectContaining({ productId: id, unitPriceCents: last.priceCents })]);
  });
});
