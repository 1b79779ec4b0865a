import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { Cart } from "../../../edge/cart/index.ts";
import { productKey } from "../../../edge/catalog/index.ts";
import { redisClient } from "../../../platform/clients.ts";
import { roundTrips } from "../../../platform/test-support.ts";
import {
  admin,
  call,
  createProduct,
  type ErrorBody,
  expectError,
  json,
  jsonInit,
  productInput,
  uniqueProductId,
} from "../test-support.ts";
import type { PriceList } from "./index.ts";

const sleepUntil = async (ms: number) => {
  const wait = ms - Date.now();
  if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
};
const at = (ms: number) => new Date(ms).toISOString();
const listId = () => uniqueProductId("pl");
const putList = (id: string, body: unknown) => call(`/v1/admin/price-lists/${id}`, admin("PUT", body));

interface Priced {
  priceCents: number;
  compareAtPriceCents?: number;
}

describe("price lists", () => {
  it("are admin only, and refuse lists that could never apply or name a variant twice", async () => {
    const product = await createProduct({ priceCents: 2_500 });
    const euro = await createProduct({ priceCents: 2_500, currency: "EUR" });
    const starts = Date.now() + 60_000;
    const valid = { name: "Black Friday", currency: "USD", startsAt: at(starts), prices: [] };
    await expectError(
      await call(`/v1/admin/price-lists/${listId()}`, jsonInit("PUT", valid)),
      401,
      "unauthorized",
    );
    await expectError(await putList(listId(), { ...valid, endsAt: at(starts) }), 400, "invalid_request");
    await expectError(await putList(listId(), { ...valid, startsAt: "next friday" }), 400, "invalid_request");
    const twice = await expectError(
      await putList(listId(), {
        ...valid,
        prices: [
          { variantId: product, priceCents: 1_000 },
          { variantId: product, priceCents: 900 },
        ],
      }),
      400,
      "invalid_request",
    );
    expect(JSON.stringify(twice.error.details)).toContain("variant listed twice");
    const unknown = await putList(listId(), {
      ...valid,
      prices: [
        { variantId: product, priceCents: 1_000 },
        { variantId: uniqueProductId("nowhere"), priceCents: 1_000 },
        { variantId: euro, priceCents: 1_000 },
      ],
    });
    const refused = (await expectError(unknown, 400, "invalid_request")) as ErrorBody & {
      error: { details: { path: unknown[]; message: string }[] };
    };
    expect(refused.error.details).toEqual([
      { path: ["prices", 1, "variantId"], message: "no such variant" },
      { path: ["prices", 2, "variantId"], message: "the variant does not sell in USD" },
    ]);
    const tooMany = Array.from({ length: 10_001 }, (_, i) => ({ variantId: `v${i}`, priceCents: 1 }));
    await expectError(await putList(listId(), { ...valid, prices: tooMany }), 400, "invalid_request");
    // Thousands of bad prices: the answer names the first hundred.
    const junk = Array.from({ length: 5_000 }, (_, i) => ({ variantId: `v${i}`, priceCents: -1 }));
    const named = await expectError(
      await putList(listId(), { ...valid, prices: junk }),
      400,
      "invalid_request",
    );
    expect(named.error.details).toHaveLength(100);
    await expectError(
      await call(`/v1/admin/price-lists/${listId()}`, admin("GET")),
      404,
      "price_list_not_found",
    );
    await expectError(
      await call(`/v1/admin/price-lists/${listId()}`, admin("DELETE")),
      404,
      "price_list_not_found",
    );
  });

  it("are written, replaced, read, and ended (readable after)", async () => {
    const [a, b] = [await createProduct({ priceCents: 2_500 }), await createProduct({ priceCents: 900 })];
    const id = listId();
    const starts = Date.now() + 3_600_000;
    const body = {
      name: "Weekend",
      currency: "USD",
      startsAt: at(starts),
      prices: [
        { variantId: a, priceCents: 2_000 },
        { variantId: b, priceCents: 800 },
      ],
    };
    const first = await json<PriceList>(await putList(id, body));
    expect(first).toEqual({
      priceListId: id,
      name: "Weekend",
      currency: "USD",
      startsAt: at(starts),
      endsAt: null,
      priceCount: 2,
      version: 1,
    });
    const replaced = await json<PriceList>(
      await putList(id, { ...body, prices: [{ variantId: a, priceCents: 1_900 }] }),
    );
    expect(replaced).toMatchObject({ priceCount: 1, version: 2 });
    expect(await json<PriceList>(await call(`/v1/admin/price-lists/${id}`, admin("GET")))).toEqual(replaced);
    const ended = await json<PriceList>(await call(`/v1/admin/price-lists/${id}`, admin("DELETE")));
    // Not started yet: it ends at its start, so it never applies.
    expect(ended).toMatchObject({ endsAt: at(starts), version: 3, priceCount: 1 });
    expect(await json<PriceList>(await call(`/v1/admin/price-lists/${id}`, admin("GET")))).toEqual(ended);
    // A list without an end, said as null.
    const open = await json<PriceList>(await putList(listId(), { ...body, endsAt: null }));
    expect(open).toMatchObject({ endsAt: null, priceCount: 2 });
  });

  it("end when deleted: the next answer and cart show the regular price; deleting again repairs every cache", async () => {
    const product = await createProduct({ priceCents: 4_000 });
    const id = listId();
    const body = {
      name: "Flash",
      currency: "USD",
      startsAt: at(Date.now() - 1_000),
      prices: [{ variantId: product, priceCents: 3_000 }],
    };
    expect((await putList(id, body)).status).toBe(200);
    const cart = await json<Cart>(await call("/v1/carts", { method: "POST" }));
    const added = await json<Cart>(
      await call(`/v1/carts/${cart.cartId}/items`, jsonInit("POST", { productId: product, qty: 1 })),
    );
    expect(added.items[0]).toMatchObject({ unitPriceCents: 3_000, compareAtPriceCents: 4_000 });
    expect(await json<Priced>(await call(`/v1/products/${product}`))).toMatchObject({
      priceCents: 3_000,
      compareAtPriceCents: 4_000,
    });
    const ended = await json<PriceList>(await call(`/v1/admin/price-lists/${id}`, admin("DELETE")));
    expect(Date.parse(ended.endsAt ?? "")).toBeLessThanOrEqual(Date.now());
    const after = await json<Priced>(await call(`/v1/products/${product}`));
    expect(after).toMatchObject({ priceCents: 4_000 });
    expect(after.compareAtPriceCents).toBeUndefined();
    const carted = await json<Cart>(await call(`/v1/carts/${cart.cartId}`));
    expect(carted.items[0]?.unitPriceCents).toBe(4_000);
    expect(carted.items[0]?.compareAtPriceCents).toBeUndefined();

    // A product written again keeps its schedule (read after the write, not with it).
    const again = await call(
      `/v1/admin/products/${product}`,
      admin("PUT", productInput({ priceCents: 4_000 })),
    );
    expect(again.status).toBe(200);
    const other = listId();
    expect(
      (await putList(other, { ...body, prices: [{ variantId: product, priceCents: 3_500 }] })).status,
    ).toBe(200);
    const renamed = await call(
      `/v1/admin/products/${product}`,
      admin("PUT", productInput({ priceCents: 4_000, name: "Renamed" })),
    );
    expect(await json<Priced>(renamed)).toMatchObject({ priceCents: 3_500, compareAtPriceCents: 4_000 });

    // The caches were not written after an end that committed (its answer lost, say): they still
    // hold the list. Ending it again writes them through again.
    const redis = redisClient(env);
    const entry = await redis.get(productKey(product));
    expect((await call(`/v1/admin/price-lists/${other}`, admin("DELETE"))).status).toBe(200);
    await redis.set(productKey(product), entry);
    expect((await call(`/v1/admin/price-lists/${other}`, admin("DELETE"))).status).toBe(200);
    expect(await json<Priced>(await call(`/v1/products/${product}`))).toMatchObject({ priceCents: 4_000 });
    const line = (await json<Cart>(await call(`/v1/carts/${cart.cartId}`))).items[0];
    expect(line?.unitPriceCents).toBe(4_000);
  });

  it("switch catalog answers, pages and carts on the second, lowest price winning, without reading Postgres", async () => {
    const category = `sale-${crypto.randomUUID().slice(0, 8)}`;
    const tee = await createProduct({ priceCents: 2_500, category });
    const mug = await createProduct({ priceCents: 1_200, category });
    const cart = await json<Cart>(await call("/v1/carts", { method: "POST" }));
    for (const [id, qty] of [
      [tee, 2],
      [mug, 1],
    ] as const)
      expect(
        (await call(`/v1/carts/${cart.cartId}/items`, jsonInit("POST", { productId: id, qty }))).status,
      ).toBe(200);

    const starts = Date.now() + 3_000;
    const ends = starts + 3_000;
    const sale = (name: string, teeCents: number, endsAt?: number) =>
      putList(listId(), {
        name,
        currency: "USD",
        startsAt: at(starts),
        ...(endsAt ? { endsAt: at(endsAt) } : {}),
        prices: [
          { variantId: tee, priceCents: teeCents },
          // Above the regular price: never applies.
          { variantId: mug, priceCents: 1_500 },
        ],
      });
    expect((await sale("Doorbusters", 1_999, ends)).status).toBe(200);
    // Overlapping, dearer, and open-ended: after the first ends, this one applies.
    expect((await sale("Week long", 2_200)).status).toBe(200);

    const read = async () => {
      const sent = Date.now();
      const productAnswer = await call(`/v1/products/${tee}`);
      const cacheControl = productAnswer.headers.get("Cache-Control") ?? "";
      const product = await json<Priced>(productAnswer);
      const page = await json<{ items: (Priced & { id: string })[] }>(
        await call(`/v1/products?category=${category}`),
      );
      const carted = await json<Cart>(await call(`/v1/carts/${cart.cartId}`));
      const line = carted.items.find((item) => item.productId === tee);
      return {
        sent,
        answered: Date.now(),
        cacheControl,
        product,
        page: page.items.find((item) => item.id === tee),
        mug: page.items.find((item) => item.id === mug),
        line,
        subtotal: carted.subtotalCents,
      };
    };
    // The writes made every cached page old: the first read fills it from Postgres (which the count
    // sees); from here on no catalog read needs Postgres. (Availability falls back to Postgres when the
    // stock counter is slow on a loaded machine: those reads are not the catalog's.)
    const postgres = (env as unknown as { NEON_LOCAL_ENDPOINT: string }).NEON_LOCAL_ENDPOINT;
    const catalogReads = /products|price_list/;
    expect(await roundTrips(postgres, read, catalogReads)).toBeGreaterThan(0);
    const answers: Awaited<ReturnType<typeof read>>[] = [];
    const trips = await roundTrips(
      postgres,
      async () => {
        while (Date.now() < ends + 1_500) {
          answers.push(await read());
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      },
      catalogReads,
    );
    await sleepUntil(ends + 1_500);

    const priceAt = (ms: number) => (ms < starts ? 2_500 : ms < ends ? 1_999 : 2_200);
    // An answer (three reads in a row) begun before a switch and ended after it may show either price.
    const settled = answers.filter((a) => ![starts, ends].some((s) => a.sent < s && s <= a.answered));
    expect(settled.length).toBeGreaterThan(10);
    const seen = (a: (typeof settled)[number]) => ({
      at: a.answered - starts,
      product: [a.product.priceCents, a.product.compareAtPriceCents],
      page: [a.page?.priceCents, a.page?.compareAtPriceCents],
      line: [a.line?.unitPriceCents, a.line?.compareAtPriceCents, a.line?.lineTotalCents],
      mug: [a.mug?.priceCents, a.mug?.compareAtPriceCents],
      subtotal: a.subtotal,
    });
    const wanted = (a: (typeof settled)[number]) => {
      const cents = priceAt(a.answered);
      const compareAt = cents === 2_500 ? undefined : 2_500;
      return {
        at: a.answered - starts,
        product: [cents, compareAt],
        page: [cents, compareAt],
        line: [cents, compareAt, 2 * cents],
        mug: [1_200, undefined],
        subtotal: 2 * cents + 1_200,
      };
    };
    expect(settled.map(seen)).toEqual(settled.map(wanted));
    // Downstream caches may keep an answer for max-age plus stale-while-revalidate (1 + 1 s): within
    // two seconds of a switch they may keep it for none. (An answer whose handling may have begun on
    // either side of that mark is not checked.)
    for (const a of answers) {
      // Sent before a switch and answered after it: the server may have priced it on either side.
      if ([starts, ends].some((s) => a.sent < s && s <= a.answered)) continue;
      const next = [starts, ends].find((s) => s > a.sent);
      const fresh =
        next === undefined || next - a.answered >= 2_000 ? 1 : next - a.sent < 2_000 ? 0 : undefined;
      if (fresh === undefined) continue;
      expect({ at: a.sent - starts, cacheControl: a.cacheControl }).toEqual({
        at: a.sent - starts,
        cacheControl: expect.stringContaining(`max-age=${fresh}, stale-while-revalidate=${fresh}`),
      });
    }
    // Each period was seen.
    expect(new Set(settled.map((a) => priceAt(a.answered)))).toEqual(new Set([2_500, 1_999, 2_200]));
    expect(trips).toBe(0);
  });
});
