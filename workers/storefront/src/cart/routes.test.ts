import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { cartSnapshots } from "../../../../db/schema/index.ts";
import { orderStatusKey } from "../../../../domain/orders.ts";
import type { Cart } from "../../../edge/cart/index.ts";
import { CartStore, cartKey } from "../../../edge/cart/index.ts";
import { productKey, variantKey } from "../../../edge/catalog/index.ts";
import { dbClient, redisClient } from "../../../platform/clients.ts";
import type { EnvOverrides } from "../../../platform/test-support.ts";
import { roundTrips } from "../../../platform/test-support.ts";
import { admin, call, createProduct, expectError, json, jsonInit, uniqueProductId } from "../test-support.ts";

const newCart = async (): Promise<Cart> => {
  const res = await call("/v1/carts", { method: "POST" });
  expect(res.status).toBe(201);
  return json<Cart>(res);
};

const add = (cartId: string, productId: string, qty: number, overrides: EnvOverrides = {}) =>
  call(`/v1/carts/${cartId}/items`, jsonInit("POST", { productId, qty }), overrides);

describe("cart lines by variant", () => {
  it("adds by variant id (a one-variant product's is its own), changes and removes by it", async () => {
    const mug = await createProduct({ priceCents: 1250, name: "Mug" });
    const { cartId } = await newCart();
    const added = await json<Cart>(
      await call(`/v1/carts/${cartId}/items`, jsonInit("POST", { variantId: mug, qty: 2 })),
    );
    expect(added.items).toEqual([
      expect.objectContaining({ productId: mug, variantId: mug, options: {}, qty: 2, lineTotalCents: 2500 }),
    ]);
    const byProduct = await json<Cart>(await add(cartId, mug, 1));
    expect(byProduct.items.map((line) => [line.variantId, line.qty])).toEqual([[mug, 3]]);
    const set = await json<Cart>(await call(`/v1/carts/${cartId}/items/${mug}`, jsonInit("PUT", { qty: 5 })));
    expect(set.items[0]?.qty).toBe(5);
    await expectError(
      await call(`/v1/carts/${cartId}/items`, jsonInit("POST", { variantId: mug, productId: mug, qty: 1 })),
      400,
      "invalid_request",
    );
    await expectError(
      await call(
        `/v1/carts/${cartId}/items`,
        jsonInit("POST", { variantId: uniqueProductId("nowhere"), qty: 1 }),
      ),
      404,
      "product_not_found",
    );
  });
});

describe("cart lifecycle", () => {
  it("reads and changes a cart in one Redis round trip each while the catalog entries are cached", async () => {
    const mug = await createProduct({ priceCents: 990, name: "One-trip mug" });
    const lamp = await createProduct({ priceCents: 500, name: "One-trip lamp" });
    const trips = (work: () => Promise<Response>, status: number) =>
      roundTrips(env.UPSTASH_REDIS_REST_URL, async () => expect((await work()).status).toBe(status));
    // Each script's first run on a Redis that never saw it is two trips (NOSCRIPT, then the script
    // itself): run every step once first, so the count below does not depend on which test ran first.
    const warm = (await newCart()).cartId;
    await add(warm, mug, 1);
    await call(`/v1/carts/${warm}/items/${mug}`, jsonInit("PUT", { qty: 2 }));
    await call(`/v1/carts/${warm}`);
    await call(`/v1/carts/${warm}/items/${mug}`, { method: "DELETE" });
    await call(`/v1/carts/${warm}`, { method: "DELETE" });
    let cartId = "";
    expect(
      await roundTrips(env.UPSTASH_REDIS_REST_URL, async () => {
        cartId = (await newCart()).cartId;
      }),
    ).toBe(1);
    expect(await trips(() => add(cartId, mug, 2), 200)).toBe(1);
    expect(await trips(() => add(cartId, lamp, 1), 200)).toBe(1);
    const setQty = () => call(`/v1/carts/${cartId}/items/${mug}`, jsonInit("PUT", { qty: 5 }));
    expect(await trips(setQty, 200)).toBe(1);
    expect(await trips(() => call(`/v1/carts/${cartId}`), 200)).toBe(1);
    expect(await trips(() => call(`/v1/carts/${cartId}/items/${lamp}`, { method: "DELETE" }), 200)).toBe(1);
    const cart = await json<Cart>(await call(`/v1/carts/${cartId}`));
    expect(cart).toMatchObject({ itemCount: 5, subtotalCents: 4950 });
    expect(await trips(() => call(`/v1/carts/${cartId}`, { method: "DELETE" }), 204)).toBe(1);
  });

  it("adds a product the catalog cache lost: counted against the client's misses, read from Postgres, cached again, added once", async () => {
    // The same steps once first, so every script has run on this Redis (a first run is two trips).
    const warm = await createProduct({ priceCents: 100, name: "Evicted once before" });
    await redisClient(env, { raw: true }).del(productKey(warm));
    await add((await newCart()).cartId, warm, 1);
    const lamp = await createProduct({ priceCents: 4200, name: "Evicted before the add" });
    const { cartId } = await newCart();
    await redisClient(env, { raw: true }).del(productKey(lamp));
    let cart: Cart | undefined;
    // The script (no entry), the client's miss counted, then the script again with the product read
    // from Postgres; the entry is written after the answer.
    const trips = await roundTrips(env.UPSTASH_REDIS_REST_URL, async () => {
      cart = await json<Cart>(await add(cartId, lamp, 2));
    });
    expect(trips).toBe(4);
    expect(cart).toMatchObject({ itemCount: 2, subtotalCents: 8400, currency: "USD" });
    expect(await redisClient(env, { raw: true }).exists(productKey(lamp))).toBe(1);
    const again = await json<Cart>(await add(cartId, lamp, 1));
    expect(again.items).toMatchObject([{ productId: lamp, qty: 3 }]);
  });

  it("reads the catalog entries of the cart's lines in the cart's own script", async () => {
    const mug = await createProduct({ priceCents: 990, name: "Cached mug" });
    const { cartId } = await newCart();
    await add(cartId, mug, 2);
    const uncached = await createProduct({ priceCents: 500, name: "Evicted lamp" });
    await add(cartId, uncached, 1);
    await redisClient(env, { raw: true }).del(variantKey(uncached));
    const stored = await new CartStore(env).read(cartId);
    if (typeof stored === "string") throw new Error(`cart ${stored}`);
    expect(JSON.parse(stored.catalog?.get(mug) ?? "null")).toMatchObject({
      v: { product: { variants: [{ variantId: mug, priceCents: 990 }] } },
    });
    expect(stored.catalog?.get(uncached)).toBeNull();
    // The evicted entry is filled from Postgres while pricing: the cart still prices both lines.
    const cart = await json<Cart>(await call(`/v1/carts/${cartId}`));
    expect(cart).toMatchObject({ itemCount: 3, subtotalCents: 2480 });
  });

  it("creates an empty cart with an unguessable URL-safe id that expires in 7 days", async () => {
    const cart = await newCart();
    expect(cart.cartId).toMatch(/^[A-Za-z0-9_-]{22,}$/);
    expect(cart).toMatchObject({ items: [], itemCount: 0, subtotalCents: 0, currency: "USD" });
    const days = (Date.parse(cart.expiresAt) - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(6.99);
    expect(days).toBeLessThanOrEqual(7.01);
    const other = await newCart();
    expect(other.cartId).not.toBe(cart.cartId);
  });

  it("adds, accumulates, changes and removes lines, priced from the catalog", async () => {
    const mug = await createProduct({ priceCents: 1250, name: "Mug" });
    const lamp = await createProduct({ priceCents: 4000, name: "Lamp" });
    const { cartId } = await newCart();
    await add(cartId, mug, 2);
    let cart = await json<Cart>(await add(cartId, mug, 1));
    expect(cart.items).toEqual([
      {
        productId: mug,
        variantId: mug,
        sku: expect.any(String),
        name: "Mug",
        options: {},
        qty: 3,
        unitPriceCents: 1250,
        lineTotalCents: 3750,
        imageUrl: null,
      },
    ]);
    cart = await json<Cart>(await add(cartId, lamp, 1));
    expect(cart).toMatchObject({ itemCount: 4, subtotalCents: 7750 });

    cart = await json<Cart>(await call(`/v1/carts/${cartId}/items/${mug}`, jsonInit("PUT", { qty: 10 })));
    expect(cart.items.find((i) => i.productId === mug)?.qty).toBe(10);
    cart = await json<Cart>(await call(`/v1/carts/${cartId}/items/${mug}`, jsonInit("PUT", { qty: 0 })));
    expect(cart.items.map((i) => i.productId)).toEqual([lamp]);
    cart = await json<Cart>(await call(`/v1/carts/${cartId}/items/${lamp}`, { method: "DELETE" }));
    expect(cart.items).toEqual([]);

    const read = await json<Cart>(await call(`/v1/carts/${cartId}`));
    expect(read.items).toEqual([]);
  });

  it("deletes a cart: 204, then 404, and it is never restored", async () => {
    const mug = await createProduct();
    const { cartId } = await newCart();
    await add(cartId, mug, 1);
    const res = await call(`/v1/carts/${cartId}`, { method: "DELETE" });
    expect(res.status).toBe(204);
    await expectError(await call(`/v1/carts/${cartId}`), 404, "cart_not_found");
    await expectError(await add(cartId, mug, 1), 404, "cart_not_found");
    await expectError(await call(`/v1/carts/${cartId}`, { method: "DELETE" }), 404, "cart_not_found");
  });

  it("reprices at read time: a price change shows in the cart at once", async () => {
    const id = await createProduct({ priceCents: 2000 });
    const { cartId } = await newCart();
    await add(cartId, id, 2);
    const res = await call(
      `/v1/admin/products/${id}`,
      admin("PUT", {
        sku: `SKU-${id}`.slice(0, 60),
        name: "Repriced",
        description: "",
        priceCents: 2500,
        currency: "USD",
        category: "office",
      }),
    );
    expect(res.status).toBe(200);
    const cart = await json<Cart>(await call(`/v1/carts/${cartId}`));
    expect(cart.items[0]).toMatchObject({ unitPriceCents: 2500, lineTotalCents: 5000, name: "Repriced" });
    expect(cart.subtotalCents).toBe(5000);
  });
});

describe("a cart frozen by an unsettled checkout", () => {
  it("shows its pending order, refuses changes, and settles once the order has landed", async () => {
    const mug = await createProduct({ priceCents: 900, name: "Frozen mug" });
    const { cartId } = await newCart();
    await add(cartId, mug, 2);
    // What checkout leaves when its publish missed its deadline (see workers/checkout).
    const redis = redisClient(env, { raw: true });
    await redis.hset(cartKey(cartId), { "#o": "ord_frozen1", "#p": "{}" });

    const frozen = await json<Cart>(await call(`/v1/carts/${cartId}`));
    expect(frozen).toMatchObject({ pendingOrderId: "ord_frozen1", itemCount: 2 });
    for (const res of [
      await add(cartId, mug, 1),
      await call(`/v1/carts/${cartId}/items/${mug}`, jsonInit("PUT", { qty: 5 })),
      await call(`/v1/carts/${cartId}/items/${mug}`, { method: "DELETE" }),
      await call(`/v1/carts/${cartId}`, { method: "DELETE" }),
    ]) {
      const body = await expectError(res, 409, "checkout_in_progress");
      expect(body.error.details).toEqual({ orderId: "ord_frozen1" });
      expect(Number(res.headers.get("Retry-After"))).toBeGreaterThan(0);
    }

    // The pipeline wrote the order's status record: the order landed, the cart settles.
    await redis.set(orderStatusKey("ord_frozen1"), JSON.stringify({ orderId: "ord_frozen1" }));
    const settled = await json<Cart>(await call(`/v1/carts/${cartId}`));
    expect(settled).toMatchObject({ items: [], itemCount: 0, lastOrderId: "ord_frozen1" });
    expect(settled).not.toHaveProperty("pendingOrderId");
    expect((await add(cartId, mug, 1)).status).toBe(200);
  });
});

describe("cart races", () => {
  it("50 parallel adds of qty 1 give qty 50", async () => {
    const id = await createProduct();
    const { cartId } = await newCart();
    const results = await Promise.all(Array.from({ length: 50 }, () => add(cartId, id, 1)));
    expect(results.map((r) => r.status)).toEqual(Array(50).fill(200));
    const cart = await json<Cart>(await call(`/v1/carts/${cartId}`));
    expect(cart.items[0]?.qty).toBe(50);
  });

  it("holds the 99-per-line limit under concurrency", async () => {
    const id = await createProduct();
    const { cartId } = await newCart();
    const results = await Promise.all(Array.from({ length: 20 }, () => add(cartId, id, 10)));
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(9);
    expect(statuses.filter((s) => s === 422)).toHaveLength(11);
    const cart = await json<Cart>(await call(`/v1/carts/${cartId}`));
    expect(cart.items[0]?.qty).toBe(90);
  });

  it("holds the 100-lines limit under concurrency", async () => {
    const { cartId } = await newCart();
    const seeded = Array.from({ length: 110 }, (_, i) => `prod_${String(i + 1).padStart(7, "0")}`);
    const results = await Promise.all(seeded.map((id) => add(cartId, id, 1)));
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(100);
    expect(statuses.filter((s) => s === 422)).toHaveLength(10);
    const body = await json<{ error: { code: string } }>(results.find((r) => r.status === 422) as Response);
    expect(body.error.code).toBe("quantity_limit");
    const cart = await json<Cart>(await call(`/v1/carts/${cartId}`));
    expect(cart.items).toHaveLength(100);
  });
});

describe("cart input errors", () => {
  it.each([
    ["qty 0", { qty: 0 }],
    ["negative qty", { qty: -1 }],
    ["fractional qty", { qty: 1.5 }],
    ["qty as a string", { qty: "2" }],
    ["qty over 99", { qty: 100 }],
    ["missing productId", { productId: undefined }],
    ["malformed productId", { productId: "../etc" }],
    ["unknown field", { priceCents: 1 }],
    ["null body", null],
    ["array body", []],
  ])("POST items answers 400 to %s", async (_name, patch) => {
    const { cartId } = await newCart();
    const body =
      patch === null || Array.isArray(patch) ? patch : { productId: "prod_0000001", qty: 1, ...patch };
    await expectError(
      await call(`/v1/carts/${cartId}/items`, jsonInit("POST", body)),
      400,
      "invalid_request",
    );
  });

  it("answers 400 to malformed JSON and 413 to a huge body", async () => {
    const { cartId } = await newCart();
    await expectError(
      await call(`/v1/carts/${cartId}/items`, jsonInit("POST", "{not json")),
      400,
      "invalid_request",
    );
    const huge = JSON.stringify({ productId: "prod_0000001", qty: 1, pad: "x".repeat(70_000) });
    await expectError(
      await call(`/v1/carts/${cartId}/items`, jsonInit("POST", huge)),
      413,
      "payload_too_large",
    );
  });

  it("answers 400 to PUT quantities out of range", async () => {
    const { cartId } = await newCart();
    for (const qty of [-1, 100, 1.5, "1"]) {
      await expectError(
        await call(`/v1/carts/${cartId}/items/prod_0000001`, jsonInit("PUT", { qty })),
        400,
        "invalid_request",
      );
    }
  });

  it("answers 404 for unknown carts and products, 400 for malformed cart ids", async () => {
    const { cartId } = await newCart();
    await expectError(await add(cartId, "no_such_product_anywhere", 1), 404, "product_not_found");
    await expectError(await call("/v1/carts/AAAAAAAAAAAAAAAAAAAAAA"), 404, "cart_not_found");
    await expectError(await call("/v1/carts/short"), 400, "invalid_request");
    await expectError(await call(`/v1/carts/${"a".repeat(65)}`), 400, "invalid_request");
  });

  it("rate-limits cart changes per client with Retry-After", async () => {
    const limited = { CART_RATE_LIMIT: "3", CART_RATE_WINDOW_SECONDS: "60" };
    const client = { "CF-Connecting-IP": `203.0.113.${Math.floor(Math.random() * 250)}-${Date.now()}` };
    const statuses: number[] = [];
    let last: Response | undefined;
    for (let i = 0; i < 4; i++) {
      last = await call("/v1/carts", { method: "POST", headers: client }, limited);
      statuses.push(last.status);
    }
    expect(statuses).toEqual([201, 201, 201, 429]);
    const res = last as Response;
    expect(Number(res.headers.get("Retry-After"))).toBeGreaterThan(0);
    expect(res.headers.get("RateLimit-Remaining")).toBe("0");
    await expectError(res, 429, "rate_limited");
  });

  it("counts every kind of change against one limit, and leaves a refused change undone", async () => {
    const limited = { CART_RATE_LIMIT: "4", CART_RATE_WINDOW_SECONDS: "60" };
    const client = { "CF-Connecting-IP": `198.51.100.${Math.floor(Math.random() * 250)}-${Date.now()}` };
    const mug = await createProduct({ priceCents: 100 });
    const created = await call("/v1/carts", { method: "POST", headers: client }, limited);
    expect(created.headers.get("RateLimit-Limit")).toBe("4");
    expect(created.headers.get("RateLimit-Remaining")).toBe("3");
    const { cartId } = await json<Cart>(created);
    const init = (method: string, body: unknown) => ({
      ...jsonInit(method, body),
      headers: { "content-type": "application/json", ...client },
    });
    const added = await call(`/v1/carts/${cartId}/items`, init("POST", { productId: mug, qty: 1 }), limited);
    expect(added.headers.get("RateLimit-Remaining")).toBe("2");
    // A refused change counts too (it asked): an unknown product here.
    const unknown = { productId: "no_such_product_anywhere", qty: 1 };
    await expectError(
      await call(`/v1/carts/${cartId}/items`, init("POST", unknown), limited),
      404,
      "product_not_found",
    );
    const set = await call(`/v1/carts/${cartId}/items/${mug}`, init("PUT", { qty: 7 }), limited);
    expect(set.status).toBe(200);
    expect(set.headers.get("RateLimit-Remaining")).toBe("0");
    const over = await call(`/v1/carts/${cartId}/items/${mug}`, init("PUT", { qty: 9 }), limited);
    await expectError(over, 429, "rate_limited");
    await expectError(
      await call(`/v1/carts/${cartId}`, { method: "DELETE", headers: client }, limited),
      429,
      "rate_limited",
    );
    // Reads are not limited, and the refused changes changed nothing.
    const cart = await json<Cart>(await call(`/v1/carts/${cartId}`, { headers: client }, limited));
    expect(cart.items).toMatchObject([{ productId: mug, qty: 7 }]);
  });
});

describe("durability", () => {
  it("restores a cart Redis lost from its durable copy in Postgres", async () => {
    const id = await createProduct({ priceCents: 300 });
    const cartId = `RestoredCart_${crypto.randomUUID().replace(/-/g, "").slice(0, 20)}`;
    await dbClient(env)
      .insert(cartSnapshots)
      .values({
        cartId,
        items: [{ productId: id, qty: 4 }],
        updatedAt: new Date(),
        eventId: crypto.randomUUID(),
      });
    const cart = await json<Cart>(await call(`/v1/carts/${cartId}`));
    expect(cart.items).toMatchObject([{ productId: id, qty: 4, lineTotalCents: 1200 }]);
    const updated = await json<Cart>(await add(cartId, id, 1));
    expect(updated.items[0]?.qty).toBe(5);
  });

  it("does not restore an expired or deleted copy", async () => {
    const expired = `ExpiredCart_${crypto.randomUUID().replace(/-/g, "").slice(0, 20)}`;
    const deleted = `DeletedCart_${crypto.randomUUID().replace(/-/g, "").slice(0, 20)}`;
    await dbClient(env)
      .insert(cartSnapshots)
      .values([
        {
          cartId: expired,
          items: [{ productId: "prod_0000001", qty: 1 }],
          updatedAt: new Date(Date.now() - 8 * 86_400_000),
          eventId: "e1",
        },
        { cartId: deleted, items: [], updatedAt: new Date(), deleted: true, eventId: "e2" },
      ]);
    await expectError(await call(`/v1/carts/${expired}`), 404, "cart_not_found");
    await expectError(await call(`/v1/carts/${deleted}`), 404, "cart_not_found");
  });

  it("keeps a 5-line cart within 200 bytes of Redis memory", async () => {
    const { cartId } = await newCart();
    for (let i = 1; i <= 5; i++) await add(cartId, `prod_${String(i).padStart(7, "0")}`, i);
    const bytes = await new CartStore(env).memoryUsage(cartId);
    expect(bytes).toBeGreaterThan(0);
    expect(bytes).toBeLessThanOrEqual(200);
  });
});
