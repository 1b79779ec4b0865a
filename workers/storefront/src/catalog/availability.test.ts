import { describe, expect, it } from "vitest";
import type { ProductPage } from "../../../edge/catalog/index.ts";
import { admin, call, createProduct, json } from "../test-support.ts";
import { availabilityOf, capFreshness } from "./availability.ts";

interface Answer {
  id: string;
  inStock: boolean;
  availableQty?: number;
}

const setStock = async (productId: string, available: number) => {
  const res = await call(`/v1/admin/inventory/${productId}`, admin("PUT", { available }));
  expect(res.status).toBe(200);
};

/** Reads the product until the isolate's one-second reuse of its availability has passed. */
const productOnceFresh = (productId: string, expected: Partial<Answer>) =>
  expect
    .poll(async () => json<Answer>(await call(`/v1/products/${productId}`)), {
      timeout: 5_000,
      interval: 250,
    })
    .toMatchObject(expected);

describe("capFreshness", () => {
  it("caps max-age and stale-while-revalidate at a second and keeps the rest", () => {
    expect(capFreshness("public, max-age=30, stale-while-revalidate=60, stale-if-error=86400")).toBe(
      "public, max-age=1, stale-while-revalidate=1, stale-if-error=86400",
    );
    expect(capFreshness("public, max-age=0, stale-if-error=86400")).toBe(
      "public, max-age=0, stale-if-error=86400",
    );
  });
});

describe("availabilityOf", () => {
  it("shows the units left only at or below the threshold", () => {
    expect(availabilityOf(100, 5)).toEqual({ inStock: true });
    expect(availabilityOf(5, 5)).toEqual({ inStock: true, availableQty: 5 });
    expect(availabilityOf(0, 5)).toEqual({ inStock: false, availableQty: 0 });
    expect(availabilityOf(-2, 5)).toEqual({ inStock: false, availableQty: 0 });
    expect(availabilityOf(null, 5)).toEqual({ inStock: true });
  });
});

describe("product availability", () => {
  it("comes from the stock counter, follows stock changes within a second, and is cached a second", async () => {
    const productId = await createProduct();
    await setStock(productId, 40);
    const first = await call(`/v1/products/${productId}`);
    expect(await json<Answer>(first)).toMatchObject({ inStock: true });
    expect(first.headers.get("Cache-Control")).toMatch(
      /^public, max-age=1, stale-while-revalidate=1, stale-if-error=\d+$/,
    );

    await setStock(productId, 3);
    await productOnceFresh(productId, { inStock: true, availableQty: 3 });
    await setStock(productId, 0);
    await productOnceFresh(productId, { inStock: false, availableQty: 0 });
    // The product itself still comes from the edge cache; only its availability is live.
    const cached = await call(`/v1/products/${productId}`);
    expect(cached.headers.get("X-Edge-Cache")).toBe("HIT");
  });

  it("is on every product of a page", async () => {
    const category = `avail-${crypto.randomUUID().slice(0, 8)}`;
    const plenty = await createProduct({ category });
    const none = await createProduct({ category });
    await setStock(plenty, 50);
    await setStock(none, 0);
    const page = await json<ProductPage & { items: Answer[] }>(
      await call(`/v1/products?category=${category}`),
    );
    const byId = new Map(page.items.map((item) => [item.id, item]));
    expect(byId.get(plenty)).toMatchObject({ inStock: true });
    expect(byId.get(plenty)).not.toHaveProperty("availableQty");
    expect(byId.get(none)).toMatchObject({ inStock: false, availableQty: 0 });
  });
});
