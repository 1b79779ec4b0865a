import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { ProductPage } from "../../edge/catalog/index.ts";
import { cacheRedisClient } from "../../platform/clients.ts";
import type { EnvOverrides } from "../../platform/test-support.ts";
import {
  admin,
  bearer,
  call,
  createProduct,
  expectError,
  json,
  jsonInit,
  signUpCustomer,
  TEST_PASSWORD,
  uniqueEmail,
} from "./test-support.ts";

/**
 * The limits in front of everything a client can make reach Postgres or do at scale: reads that miss
 * the cache (per client, and a global ceiling), checkouts and sign-ups, with the signed catalog
 * cursors that keep made-up pages out of the cache. Every test is a client of its own (an IP of its
 * own), with windows of a day, so no window ends during a test.
 */
const DAY = String(24 * 3600);
const octet = () => Math.floor(Math.random() * 254) + 1;
const uniqueIp = () => `10.${octet()}.${octet()}.${octet()}`;
const from = (ip: string, headers: Record<string, string> = {}): RequestInit => ({
  headers: { "CF-Connecting-IP": ip, ...headers },
});
const word = () => `w${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`;
const misses = (limit: number, global = 100_000): EnvOverrides => ({
  ORIGIN_MISS_LIMIT: String(limit),
  ORIGIN_MISS_WINDOW_SECONDS: DAY,
  ORIGIN_MISS_GLOBAL_LIMIT: String(global),
});
const randomCartId = () => crypto.randomUUID().replaceAll("-", "");

describe("signed catalog cursors", () => {
  it("pages with the cursors it signs, and refuses forged, tampered or borrowed ones before anything is cached", async () => {
    const page = await json<ProductPage>(await call("/v1/products?category=kitchen&limit=5"));
    const cursor = page.nextCursor ?? "";
    expect(cursor).toMatch(/^[\w-]+\.[\w-]+$/);
    const next = await json<ProductPage>(
      await call(`/v1/products?category=kitchen&limit=5&cursor=${encodeURIComponent(cursor)}`),
    );
    expect((next.items[0]?.id ?? "") > (page.items.at(-1)?.id ?? "")).toBe(true);

    const [payload = "", tag = ""] = cursor.split(".");
    const forged = btoa(JSON.stringify({ id: "prod_0000500" })).replace(/=+$/, "");
    // The first character: the last one of a 16-byte tag carries padding bits a decoder may ignore.
    const flipped = `${tag.startsWith("A") ? "B" : "A"}${tag.slice(1)}`;
    const refused = [
      forged, // the unsigned shape cursors used to have
      `${forged}.${tag}`, // another payload under a real signature
      `${payload}.${flipped}`, // a tampered signature
      `${payload}.${tag}.x`,
      "%00",
    ];
    for (const bad of refused) {
      const res = await call(`/v1/products?category=kitchen&limit=5&cursor=${encodeURIComponent(bad)}`);
      const body = await expectError(res, 400, "invalid_request");
      expect(JSON.stringify(body.error.details)).toContain("cursor");
    }
    // A real cursor of another list (another category, or a search) is not this list's.
    await expectError(
      await call(`/v1/products?category=toys&limit=5&cursor=${encodeURIComponent(cursor)}`),
      400,
      "invalid_request",
    );
    await expectError(
      await call(`/v1/products?category=kitchen&q=mug&limit=5&cursor=${encodeURIComponent(cursor)}`),
      400,
      "invalid_request",
    );
    const cached = await cacheRedisClient(env).keys("cat:lv:*:5:kitchen:*");
    expect(cached.filter((key) => refused.some((bad) => key.includes(bad)))).toEqual([]);
  });
});

describe("reads that reach Postgres", () => {
  it("count against the client that caused them, hits never: past the limit 429, other clients unaffected", async () => {
    const ip = uniqueIp();
    const known = word();
    const search = (q: string, client = ip) => call(`/v1/products?q=${q}`, from(client), misses(5));
    expect((await search(known)).status).toBe(200);
    // The same page again is a cache hit, as often as asked.
    for (let i = 0; i < 10; i++) expect((await search(known)).status).toBe(200);
    const statuses: number[] = [];
    let retryAfter = 0;
    for (let i = 0; i < 8; i++) {
      const res = await search(word());
      statuses.push(res.status);
      if (res.status === 429) {
        retryAfter = Number(res.headers.get("Retry-After"));
        await expectError(res, 429, "rate_limited");
      }
    }
    expect(statuses).toEqual([200, 200, 200, 200, 429, 429, 429, 429]);
    expect(retryAfter).toBeGreaterThan(0);
    expect((await search(known)).status).toBe(200); // still served from the cache
    expect((await search(word(), uniqueIp())).status).toBe(200);
  });

  it("count per customer across the addresses a signed-in client uses", async () => {
    const { token } = await signUpCustomer();
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      const res = await call(`/v1/products?q=${word()}`, from(uniqueIp(), bearer(token)), misses(3));
      statuses.push(res.status);
    }
    expect(statuses).toEqual([200, 200, 200, 429, 429, 429]);
  });

  it("answer unknown cart ids within the limit, and an id just found nowhere from the cache", async () => {
    const ip = uniqueIp();
    const read = (cartId: string) => call(`/v1/carts/${cartId}`, from(ip), misses(3));
    const probed = randomCartId();
    await expectError(await read(probed), 404, "cart_not_found");
    await expectError(await read(randomCartId()), 404, "cart_not_found");
    await expectError(await read(randomCartId()), 404, "cart_not_found");
    await expectError(await read(randomCartId()), 429, "rate_limited");
    // The id found nowhere moments ago is answered from the cache Redis: no Postgres read to limit.
    await expectError(await read(probed), 404, "cart_not_found");
    expect(await cacheRedisClient(env).exists(`miss:cart:${probed}`)).toBe(1);
    // A cart of the client's own is a Redis hit, never limited.
    const own = await json<{ cartId: string }>(await call("/v1/carts", { method: "POST", ...from(ip) }));
    expect((await read(own.cartId)).status).toBe(200);
  });

  it("past the global ceiling: a stale page is served, a page never cached is 429", async () => {
    const warm = word();
    const stale: EnvOverrides = { CATALOG_LIST_FRESH_SECONDS: "0" }; // every cached page is stale at once
    expect((await call(`/v1/products?q=${warm}`, from(uniqueIp()), stale)).status).toBe(200);
    // Many clients at once, within a second or two: the ceiling (3 a second) admits a few misses.
    const ceiling = { ...misses(100_000, 3), ...stale };
    const statuses = await Promise.all(
      Array.from(
        { length: 20 },
        async () => (await call(`/v1/products?q=${word()}`, from(uniqueIp()), ceiling)).status,
      ),
    );
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThan(0);
    expect(statuses.filter((s) => s === 200).length).toBeLessThanOrEqual(6);
    // `limit=20` is the page already in Redis, at another URL than the one the edge cache keeps.
    const answer = await call(`/v1/products?q=${warm}&limit=20`, from(uniqueIp()), ceiling);
    expect(answer.status).toBe(200);
    expect(answer.headers.get("X-Cache")).toBe("STALE");
  });
});

describe("POST /v1/checkout", () => {
  const checkout = (cartId: string, ip: string, headers: Record<string, string> = {}) =>
    call(
      "/v1/checkout",
      jsonInit(
        "POST",
        {
          cartId,
          email: "ada@example.com",
          paymentToken: "tok_visa",
          shippingAddress: {
            name: "Ada",
            line1: "1 Test Street",
            city: "Testville",
            postalCode: "1",
            country: "US",
          },
        },
        { "idempotency-key": crypto.randomUUID(), "CF-Connecting-IP": ip, ...headers },
      ),
      { CHECKOUT_RATE_LIMIT: "20", CHECKOUT_RATE_WINDOW_SECONDS: DAY },
    );

  it("takes 20 checkouts a client, then 429 until the window ends; another client goes on", async () => {
    const ip = uniqueIp();
    const productId = await createProduct({ priceCents: 500 });
    await call(`/v1/admin/inventory/${productId}`, admin("PUT", { available: 5 }));
    const cart = await json<{ cartId: string }>(await call("/v1/carts", { method: "POST" }));
    await call(`/v1/carts/${cart.cartId}/items`, jsonInit("POST", { productId, qty: 1 }));
    const statuses: number[] = [(await checkout(cart.cartId, ip)).status];
    for (let i = 1; i < 200; i++) statuses.push((await checkout(randomCartId(), ip)).status);
    expect(statuses[0]).toBe(202);
    expect(statuses.slice(1, 20).every((s) => s === 404)).toBe(true);
    expect(statuses.slice(20).every((s) => s === 429)).toBe(true);
    const refused = await checkout(randomCartId(), ip);
    await expectError(refused, 429, "rate_limited");
    expect(Number(refused.headers.get("Retry-After"))).toBeGreaterThan(0);
    expect((await checkout(randomCartId(), uniqueIp())).status).toBe(404);
  });

  it("limits a signed-in customer across addresses", async () => {
    const { token } = await signUpCustomer();
    const statuses: number[] = [];
    for (let i = 0; i < 25; i++)
      statuses.push((await checkout(randomCartId(), uniqueIp(), bearer(token))).status);
    expect(statuses.slice(0, 20).every((s) => s === 404)).toBe(true);
    expect(statuses.slice(20).every((s) => s === 429)).toBe(true);
  });
});

describe("POST /v1/customers", () => {
  it("takes a few sign-ups a client, then 429", async () => {
    const ip = uniqueIp();
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await call(
        "/v1/customers",
        jsonInit("POST", { email: uniqueEmail(), password: TEST_PASSWORD }, { "CF-Connecting-IP": ip }),
        { SIGNUP_RATE_LIMIT: "3", SIGNUP_RATE_WINDOW_SECONDS: DAY },
      );
      statuses.push(res.status);
    }
    expect(statuses).toEqual([201, 201, 201, 429, 429]);
  });
});
