import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import {
  type ProductAnswer,
  type ProductRecord,
  productKey,
  variantKey,
} from "../../../edge/catalog/index.ts";
import { redisClient } from "../../../platform/clients.ts";
import { admin, call, expectError, json, jsonInit, uniqueProductId } from "../test-support.ts";

/** An admin body for a product with options Size × Colour and the given variants. */
const withVariants = (
  variants: Array<{ variantId: string; sku?: string; options: Record<string, string>; priceCents?: number }>,
  options = [
    { name: "Size", values: ["S", "M"] },
    { name: "Colour", values: ["Red", "Blue"] },
  ],
) => ({
  name: "Test Tee",
  description: "A tee made for tests",
  currency: "USD",
  category: "apparel",
  options,
  variants: variants.map((v) => ({
    sku: `SKU-${v.variantId}`.slice(0, 64),
    priceCents: 1_000,
    ...v,
  })),
});

const fourVariants = (id: string) =>
  withVariants([
    { variantId: `${id}-s-red`, options: { Size: "S", Colour: "Red" }, priceCents: 1_000 },
    { variantId: `${id}-s-blue`, options: { Size: "S", Colour: "Blue" }, priceCents: 900 },
    { variantId: `${id}-m-red`, options: { Size: "M", Colour: "Red" }, priceCents: 1_200 },
    { variantId: `${id}-m-blue`, options: { Size: "M", Colour: "Blue" }, priceCents: 1_100 },
  ]);

const put = (id: string, body: unknown) => call(`/v1/admin/products/${id}`, admin("PUT", body));

describe("PUT /v1/admin/products/:productId with variants", () => {
  it("answers the product with its options and variants, priced from its cheapest", async () => {
    const id = uniqueProductId("tee");
    const res = await put(id, fourVariants(id));
    expect(res.status).toBe(200);
    const product = await json<ProductAnswer>(res);
    expect(product).toMatchObject({
      id,
      priceCents: 900,
      sku: `SKU-${id}-s-blue`,
      options: fourVariants(id).options,
    });
    expect(product.variants.map((v) => [v.variantId, v.priceCents, v.options])).toEqual([
      [`${id}-s-red`, 1_000, { Size: "S", Colour: "Red" }],
      [`${id}-s-blue`, 900, { Size: "S", Colour: "Blue" }],
      [`${id}-m-red`, 1_200, { Size: "M", Colour: "Red" }],
      [`${id}-m-blue`, 1_100, { Size: "M", Colour: "Blue" }],
    ]);
    // A new variant has no stock yet.
    expect(product.variants.every((v) => !v.inStock)).toBe(true);
  });

  it("writes the record through under the product id and every variant id, one version", async () => {
    const id = uniqueProductId("tee");
    await put(id, fourVariants(id));
    const redis = redisClient(env);
    const keys = [productKey(id), ...fourVariants(id).variants.map((v) => variantKey(v.variantId))];
    const entries = await Promise.all(keys.map((key) => redis.get<{ v: ProductRecord }>(key)));
    const versions = new Set(entries.map((entry) => entry?.v.version));
    expect(versions.size).toBe(1);
    expect(entries.every((entry) => entry?.v.product?.id === id)).toBe(true);
  });

  it.each([
    ["a variant missing an option", [{ variantId: "x1", options: { Size: "S" } }]],
    ["a value that is not the option's", [{ variantId: "x1", options: { Size: "XL", Colour: "Red" } }]],
    [
      "an option the product does not have",
      [{ variantId: "x1", options: { Size: "S", Colour: "Red", Fit: "Slim" } }],
    ],
    [
      "two variants with the same values",
      [
        { variantId: "x1", options: { Size: "S", Colour: "Red" } },
        { variantId: "x2", options: { Size: "S", Colour: "Red" } },
      ],
    ],
    [
      "one variant id twice",
      [
        { variantId: "x1", options: { Size: "S", Colour: "Red" } },
        { variantId: "x1", options: { Size: "M", Colour: "Red" } },
      ],
    ],
    [
      "one sku twice",
      [
        { variantId: "x1", sku: "SAME", options: { Size: "S", Colour: "Red" } },
        { variantId: "x2", sku: "SAME", options: { Size: "M", Colour: "Red" } },
      ],
    ],
  ])("answers 400 invalid_request for %s, writing nothing", async (_name, variants) => {
    const id = uniqueProductId("bad");
    await expectError(await put(id, withVariants(variants)), 400, "invalid_request");
    await expectError(await call(`/v1/products/${id}`), 404, "product_not_found");
  });

  it("answers 400 for a product without variants that lacks sku or price, or has options", async () => {
    const id = uniqueProductId("bad");
    const { options: _o, variants: _v, ...bare } = fourVariants(id);
    await expectError(await put(id, bare), 400, "invalid_request");
    await expectError(
      await put(id, { ...bare, sku: "S1", priceCents: 10, options: [{ name: "Size", values: ["S"] }] }),
      400,
      "invalid_request",
    );
  });

  it("refuses a variant id that is another product's, and writes nothing", async () => {
    const first = uniqueProductId("tee");
    await put(first, fourVariants(first));
    const second = uniqueProductId("tee");
    const body = withVariants([
      { variantId: `${second}-s-red`, options: { Size: "S", Colour: "Red" } },
      { variantId: `${first}-m-blue`, options: { Size: "M", Colour: "Blue" } },
    ]);
    await expectError(await put(second, body), 400, "invalid_request");
    await expectError(await call(`/v1/products/${second}`), 404, "product_not_found");
    // A one-variant product is its own variant: its id may not be another product's variant either.
    await expectError(
      await put(`${first}-s-red`, {
        ...withVariants([]),
        options: undefined,
        variants: undefined,
        sku: "ONE",
        priceCents: 5,
      }),
      400,
      "invalid_request",
    );
    const kept = await json<ProductAnswer>(await call(`/v1/products/${first}`));
    expect(kept.variants).toHaveLength(4);
  });

  it("lets one of two products racing for a new variant id have it; the other writes nothing", async () => {
    for (let round = 0; round < 3; round++) {
      const contested = uniqueProductId("contested");
      const [a, b] = [uniqueProductId("tee"), uniqueProductId("tee")];
      const body = (own: string) =>
        withVariants([
          { variantId: `${own}-s-red`, options: { Size: "S", Colour: "Red" } },
          { variantId: contested, options: { Size: "M", Colour: "Red" } },
        ]);
      const answers = await Promise.all([put(a, body(a)), put(b, body(b))]);
      expect(answers.map((res) => res.status).sort()).toEqual([200, 400]);
      const loser = answers[0]?.status === 400 ? a : b;
      await expectError(await call(`/v1/products/${loser}`), 404, "product_not_found");
    }
  });

  it("takes off a variant the body leaves out: its stock stays readable to holds, not to admin writes", async () => {
    const id = uniqueProductId("tee");
    await put(id, fourVariants(id));
    const gone = `${id}-m-red`;
    expect((await call(`/v1/admin/inventory/${gone}`, admin("PUT", { available: 3 }))).status).toBe(200);
    const body = fourVariants(id);
    const res = await put(id, { ...body, variants: body.variants.filter((v) => v.variantId !== gone) });
    expect((await json<ProductAnswer>(res)).variants.map((v) => v.variantId)).not.toContain(gone);
    await expectError(
      await call(`/v1/admin/inventory/${gone}`, admin("PUT", { available: 5 })),
      404,
      "product_not_found",
    );
    // Written again, it comes back with the stock it had.
    await put(id, body);
    expect(await json(await call(`/v1/admin/inventory/${gone}`, admin("GET")))).toMatchObject({
      variantId: gone,
      productId: id,
      available: 3,
    });
  });
});

describe("cart lines of variants", () => {
  it("keys lines by variant, refuses a product named alone, and removes a line whose variant is gone", async () => {
    const id = uniqueProductId("tee");
    const body = fourVariants(id);
    await put(id, body);
    for (const v of body.variants)
      await call(`/v1/admin/inventory/${v.variantId}`, admin("PUT", { available: 10 }));
    const { cartId } = await json<{ cartId: string }>(await call("/v1/carts", { method: "POST" }));
    const add = (item: Record<string, unknown>) => call(`/v1/carts/${cartId}/items`, jsonInit("POST", item));
    const refused = await expectError(await add({ productId: id, qty: 1 }), 422, "variant_required");
    expect(refused.error.details).toEqual({
      productId: id,
      variantIds: body.variants.map((v) => v.variantId),
    });
    await add({ variantId: `${id}-s-blue`, qty: 1 });
    await add({ variantId: `${id}-m-red`, qty: 2 });
    const again = await json<{ items: { variantId: string; qty: number }[]; subtotalCents: number }>(
      await add({ variantId: `${id}-s-blue`, qty: 1 }),
    );
    expect(again.items.map((l) => [l.variantId, l.qty])).toEqual([
      [`${id}-s-blue`, 2],
      [`${id}-m-red`, 2],
    ]);
    expect(again.subtotalCents).toBe(2 * 900 + 2 * 1_200);
    await put(id, { ...body, variants: body.variants.filter((v) => v.variantId !== `${id}-m-red`) });
    const cart = await json<{ items: { variantId: string; unavailable?: true }[]; subtotalCents: number }>(
      await call(`/v1/carts/${cartId}`),
    );
    expect(cart.items.map((l) => [l.variantId, l.unavailable ?? false])).toEqual([
      [`${id}-s-blue`, false],
      [`${id}-m-red`, true],
    ]);
    expect(cart.subtotalCents).toBe(1_800);
    // A gone variant cannot be added again, but its line can be removed.
    await expectError(await add({ variantId: `${id}-m-red`, qty: 1 }), 404, "product_not_found");
    const removed = await json<{ items: unknown[] }>(
      await call(`/v1/carts/${cartId}/items/${id}-m-red`, { method: "DELETE" }),
    );
    expect(removed.items).toHaveLength(1);
  });
});

describe("GET /v1/products option filters", () => {
  it("lists products with a variant of every value asked for; malformed filters are 400", async () => {
    const id = uniqueProductId("tee");
    const body = withVariants([
      { variantId: `${id}-s-red`, options: { Size: "S", Colour: "Red" } },
      { variantId: `${id}-m-blue`, options: { Size: "M", Colour: "Blue" } },
    ]);
    await put(id, { ...body, category: "filter-test" });
    const ids = async (query: string) =>
      (
        await json<{ items: { id: string }[] }>(
          await call(`/v1/products?category=filter-test&limit=100&${query}`),
        )
      ).items.map((p) => p.id);
    expect(await ids("option.Size=M")).toContain(id);
    expect(await ids("option.Size=M&option.Colour=Blue")).toContain(id);
    // No one variant is both M and Red.
    expect(await ids("option.Size=M&option.Colour=Red")).not.toContain(id);
    await expectError(await call("/v1/products?option.Size=M&option.Size=S"), 400, "invalid_request");
    await expectError(await call("/v1/products?option.=M"), 400, "invalid_request");
    await expectError(
      await call("/v1/products?option.A=1&option.B=1&option.C=1&option.D=1"),
      400,
      "invalid_request",
    );
  });
});

describe("price lists on variants", () => {
  it("lowers the one variant listed: its answer, the product's price from it, and a cart line of it", async () => {
    const id = uniqueProductId("tee");
    const body = fourVariants(id);
    await put(id, body);
    const onSale = `${id}-m-red`;
    await call(`/v1/admin/inventory/${onSale}`, admin("PUT", { available: 5 }));
    const list = await call(
      `/v1/admin/price-lists/${uniqueProductId("pl")}`,
      admin("PUT", {
        name: "Red M sale",
        currency: "USD",
        startsAt: new Date(Date.now() - 1_000).toISOString(),
        prices: [{ variantId: onSale, priceCents: 500 }],
      }),
    );
    expect(list.status).toBe(200);
    const product = await json<ProductAnswer>(await call(`/v1/products/${id}`));
    expect(product).toMatchObject({ priceCents: 500, compareAtPriceCents: 1_200, sku: `SKU-${onSale}` });
    expect(product.variants.map((v) => [v.variantId, v.priceCents, v.compareAtPriceCents])).toEqual([
      [`${id}-s-red`, 1_000, undefined],
      [`${id}-s-blue`, 900, undefined],
      [onSale, 500, 1_200],
      [`${id}-m-blue`, 1_100, undefined],
    ]);
    const { cartId } = await json<{ cartId: string }>(await call("/v1/carts", { method: "POST" }));
    const cart = await json<{
      items: { variantId: string; unitPriceCents: number; compareAtPriceCents?: number }[];
    }>(await call(`/v1/carts/${cartId}/items`, jsonInit("POST", { variantId: onSale, qty: 2 })));
    expect(cart.items).toMatchObject([
      { variantId: onSale, unitPriceCents: 500, compareAtPriceCents: 1_200 },
    ]);
    // A variant taken off its product is no longer one a price list may name.
    await put(id, { ...body, variants: body.variants.filter((v) => v.variantId !== `${id}-s-red`) });
    await expectError(
      await call(
        `/v1/admin/price-lists/${uniqueProductId("pl")}`,
        admin("PUT", {
          name: "Gone",
          currency: "USD",
          startsAt: new Date().toISOString(),
          prices: [{ variantId: `${id}-s-red`, priceCents: 1 }],
        }),
      ),
      400,
      "invalid_request",
    );
  });
});
