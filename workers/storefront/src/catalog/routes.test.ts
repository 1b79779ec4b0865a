import { describe, expect, it } from "vitest";
import type { Category, ProductAnswer, ProductPage } from "../../../edge/catalog/index.ts";
import { admin, call, createProduct, expectError, json, uniqueProductId } from "../test-support.ts";

describe("GET /v1/products/:productId", () => {
  it("answers the product with cache headers, MISS then HIT", async () => {
    const id = await createProduct({ imageKeys: ["desk-front.webp"] });
    // The admin write-through already filled Redis; a product never read is a MISS first.
    const fresh = await createProduct();
    const first = await call(`/v1/products/${fresh}`);
    expect(first.status).toBe(200);
    const product = await json<ProductAnswer>(first);
    expect(product).toMatchObject({
      id: fresh,
      priceCents: 12_500,
      currency: "USD",
      category: "office",
      images: [],
    });
    const cacheControl = first.headers.get("Cache-Control") ?? "";
    expect(cacheControl).toMatch(/max-age=\d+/);
    expect(cacheControl).toMatch(/stale-while-revalidate=\d+/);
    expect(cacheControl).toMatch(/stale-if-error=\d+/);
    expect(first.headers.get("ETag")).toBeTruthy();
    expect(first.headers.get("X-Cache")).toBe("HIT");
    expect(first.headers.get("X-Catalog-Version")).toBeNull(); // internal to the edge cache

    const withImage = await json<ProductAnswer>(await call(`/v1/products/${id}`));
    expect(withImage.images).toEqual([
      { url: "http://127.0.0.1:8787/media/desk-front.webp", alt: "Test Walnut Desk" },
    ]);
    // A product written without variants has one: its own id, sku, price, stock and picture.
    expect({ options: withImage.options, variants: withImage.variants }).toEqual({
      options: [],
      variants: [
        {
          variantId: id,
          sku: withImage.sku,
          options: {},
          priceCents: 12_500,
          inStock: withImage.inStock,
          ...(withImage.availableQty !== undefined ? { availableQty: withImage.availableQty } : {}),
          imageUrl: "http://127.0.0.1:8787/media/desk-front.webp",
        },
      ],
    });
  });

  it("fills the Redis cache from Postgres on a miss, then the edge cache answers", async () => {
    const res = await call("/v1/products/prod_0000500");
    expect(res.status).toBe(200);
    expect(res.headers.get("X-Cache")).toBe("MISS");
    expect(res.headers.get("X-Edge-Cache")).toBe("MISS");
    const again = await call("/v1/products/prod_0000500");
    expect(again.headers.get("X-Edge-Cache")).toBe("HIT");
    expect(await json<ProductAnswer>(again)).toMatchObject({ id: "prod_0000500", sku: "SKU-0000500" });
  });

  it("answers 304 to a matching If-None-Match", async () => {
    const id = await createProduct();
    const first = await call(`/v1/products/${id}`);
    const etag = first.headers.get("ETag") ?? "";
    const second = await call(`/v1/products/${id}`, { headers: { "If-None-Match": etag } });
    expect(second.status).toBe(304);
    expect(await second.text()).toBe("");
  });

  it("answers 404 product_not_found, also from its cached absence", async () => {
    const id = uniqueProductId("missing");
    await expectError(await call(`/v1/products/${id}`), 404, "product_not_found");
    await expectError(await call(`/v1/products/${id}`), 404, "product_not_found");
  });

  it.each(["bad id!", "x".repeat(65), "%00"])("answers 400 to the malformed id %j", async (id) => {
    await expectError(await call(`/v1/products/${encodeURIComponent(id)}`), 400, "invalid_request");
  });

  it("serves a price change to the very next request", async () => {
    const id = await createProduct({ priceCents: 1000 });
    expect((await json<ProductAnswer>(await call(`/v1/products/${id}`))).priceCents).toBe(1000);
    const res = await call(
      `/v1/admin/products/${id}`,
      admin("PUT", { ...(await currentInput(id)), priceCents: 1500 }),
    );
    expect(res.status).toBe(200);
    const next = await call(`/v1/products/${id}`);
    expect((await json<ProductAnswer>(next)).priceCents).toBe(1500);
  });
});

const currentInput = async (id: string) => {
  const p = await json<ProductAnswer>(await call(`/v1/products/${id}`));
  return {
    sku: p.sku,
    name: p.name,
    description: p.description,
    priceCents: p.priceCents,
    currency: p.currency,
    category: p.category,
  };
};

describe("GET /v1/products", () => {
  it("pages through a category with keyset cursors, no duplicates or gaps", async () => {
    const categories = await json<{ items: Category[] }>(await call("/v1/categories"));
    const kitchen = categories.items.find((c) => c.slug === "kitchen");
    expect(kitchen?.productCount).toBeGreaterThan(20);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const query: string = `/v1/products?category=kitchen&limit=37${cursor ? `&cursor=${cursor}` : ""}`;
      const page: ProductPage = await json<ProductPage>(await call(query));
      expect(page.items.length).toBeLessThanOrEqual(37);
      for (const item of page.items) expect(item.category).toBe("kitchen");
      seen.push(...page.items.map((p) => p.id));
      cursor = page.nextCursor;
    } while (cursor);
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen).toEqual([...seen].sort());
    expect(seen.length).toBeGreaterThanOrEqual((kitchen?.productCount ?? 0) - 5);
  });

  it("defaults to 20 items with a next cursor", async () => {
    const page = await json<ProductPage>(await call("/v1/products"));
    expect(page.items).toHaveLength(20);
    expect(page.nextCursor).toEqual(expect.any(String));
  });

  it("searches with full text, best match first, and pages the results", async () => {
    const word = `zorblax${Date.now().toString(36)}`;
    const inName = await createProduct({ name: `${word} Lamp`, description: "plain" });
    const inDescription = await createProduct({ name: "Plain Lamp", description: `mentions ${word} once` });
    const first = await json<ProductPage>(await call(`/v1/products?q=${word}&limit=1`));
    expect(first.items.map((p) => p.id)).toEqual([inName]);
    const second = await json<ProductPage>(
      await call(`/v1/products?q=${word}&limit=1&cursor=${first.nextCursor}`),
    );
    expect(second.items.map((p) => p.id)).toEqual([inDescription]);
    expect(second.nextCursor).toBeNull();
  });

  it.each([
    ["limit=0"],
    ["limit=101"],
    ["limit=ten"],
    ["limit=2.5"],
    ["cursor=not-a-cursor"],
    ["category=Not%20A%20Slug"],
    [`q=${"a".repeat(201)}`],
  ])("answers 400 to %s", async (query) => {
    await expectError(await call(`/v1/products?${query}`), 400, "invalid_request");
  });
});

describe("GET /v1/categories", () => {
  it("lists categories with product counts", async () => {
    const res = await call("/v1/categories");
    expect(res.status).toBe(200);
    const { items } = await json<{ items: Category[] }>(res);
    expect(items.map((c) => c.slug)).toEqual(expect.arrayContaining(["kitchen", "books", "toys"]));
    for (const c of items) expect(c.productCount).toBeGreaterThanOrEqual(0);
  });
});
