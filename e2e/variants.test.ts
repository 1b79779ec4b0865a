import { describe, expect, it } from "vitest";
import { formatMoney } from "../consumers/src/email/render.ts";
import { placeAll, uniqueProductId } from "./support/api.ts";
import { useE2e } from "./support/fixture.ts";
import { readRecords, stateRedis, tally } from "./support/records.ts";

/** A T-shirt in three sizes and two colours: six variants, each with its own SKU, price and stock. */
describe("products with variants", () => {
  const e2e = useE2e();

  const SIZES = ["S", "M", "L"];
  const COLOURS = ["Red", "Blue"];
  const tee = (productId: string) => {
    const variants = SIZES.flatMap((size, s) =>
      COLOURS.map((colour, c) => ({
        variantId: `${productId}-${size}-${colour}`.toLowerCase(),
        sku: `${productId}-${size}-${colour}`.toUpperCase().slice(0, 64),
        options: { Size: size, Colour: colour },
        priceCents: 2_000 + s * 200 + c * 50,
      })),
    );
    return {
      body: {
        name: `Tee ${productId}`,
        description: "a T-shirt with variants",
        currency: "USD",
        category: "e2e",
        options: [
          { name: "Size", values: SIZES },
          { name: "Colour", values: COLOURS },
        ],
        variants,
      },
      variantIds: variants.map((v) => v.variantId),
      variants,
    };
  };

  it("per-variant price, stock and inStock; a product named alone is 422 variant_required; lines per variant; option filters", async () => {
    const productId = uniqueProductId("e2e_tee");
    const { body, variantIds, variants } = tee(productId);
    const written = await e2e.api.putProductBody(productId, body);
    expect(written.variants.map((v) => [v.variantId, v.priceCents, v.options])).toEqual(
      variants.map((v) => [v.variantId, v.priceCents, v.options]),
    );
    // Stock per variant: one sold out, the others stocked.
    const [first, second, ...rest] = variantIds as [string, string, ...string[]];
    await e2e.api.setStock(first, 0);
    for (const id of [second, ...rest]) await e2e.api.setStock(id, 20);
    expect(await e2e.api.stock(second)).toMatchObject({ variantId: second, productId, available: 20 });

    const product = (await (await e2e.api.request(`/v1/products/${productId}`)).json()) as typeof written;
    expect(product).toMatchObject({
      id: productId,
      // The cheapest variant's: S / Red, sold out, still the price "from".
      priceCents: 2_000,
      sku: variants[0]?.sku,
      inStock: true,
      options: body.options,
    });
    expect(product.variants.map((v) => [v.variantId, v.inStock])).toEqual(
      variantIds.map((id) => [id, id !== first]),
    );

    const cart = (await (await e2e.api.request("/v1/carts", "POST")).json()) as { cartId: string };
    const alone = await e2e.api.request(`/v1/carts/${cart.cartId}/items`, "POST", { productId, qty: 1 });
    expect(alone.status).toBe(422);
    expect(((await alone.json()) as { error: { code: string } }).error.code).toBe("variant_required");
    const unknown = await e2e.api.request(`/v1/carts/${cart.cartId}/items`, "POST", {
      variantId: `${productId}-xl-green`,
      qty: 1,
    });
    expect(unknown.status).toBe(404);

    await e2e.api.request(`/v1/carts/${cart.cartId}/items`, "POST", { variantId: second, qty: 2 });
    const added = await e2e.api.request(`/v1/carts/${cart.cartId}/items`, "POST", {
      variantId: rest[2],
      qty: 1,
    });
    const lines = (await added.json()) as Awaited<ReturnType<typeof e2e.api.cart>>;
    expect(lines.items.map((l) => [l.productId, l.variantId, l.options, l.qty, l.unitPriceCents])).toEqual([
      [productId, second, { Size: "S", Colour: "Blue" }, 2, 2_050],
      [productId, rest[2], { Size: "L", Colour: "Red" }, 1, 2_400],
    ]);
    expect(lines.subtotalCents).toBe(2 * 2_050 + 2_400);

    const page = async (query: string) => {
      const res = await e2e.api.request(`/v1/products?category=e2e&limit=100&${query}`);
      return {
        status: res.status,
        ids: ((await res.json()) as { items?: { id: string }[] }).items?.map((p) => p.id),
      };
    };
    expect((await page("option.Size=M&option.Colour=Blue")).ids).toContain(productId);
    expect((await page("option.Size=XXL")).ids).not.toContain(productId);
    expect((await page("option.Size=M&option.Size=L")).status).toBe(400);
  });

  it("1,000 racing checkouts for a variant with 10 units sell exactly 10 of it and none of its siblings; cart, answer, order row and email agree", async () => {
    const productId = uniqueProductId("e2e_tee_race");
    const { body, variantIds } = tee(productId);
    await e2e.api.putProductBody(productId, body);
    const [hot, ...siblings] = variantIds as [string, ...string[]];
    await e2e.api.setStock(hot, 10);
    for (const id of siblings) await e2e.api.setStock(id, 50);

    const cartIds: string[] = [];
    for (let i = 0; i < 1_000; i += 50)
      cartIds.push(...(await Promise.all(Array.from({ length: 50 }, () => e2e.api.cartWithVariant(hot, 1)))));
    const answers = await placeAll(e2e.api, cartIds, "tok_visa", 200);
    expect(tally(answers.map((a) => a.error?.code ?? String(a.status)))).toEqual(
      new Map([
        ["202", 10],
        ["out_of_stock", 990],
      ]),
    );
    for (const answer of answers.filter((a) => a.error)) {
      expect(answer.error?.details).toEqual({
        items: [{ productId, variantId: hot, requested: 1, available: 0 }],
      });
    }
    const orders = answers.flatMap((a) => (a.order ? [a.order] : []));
    const orderIds = orders.map((o) => o.orderId);
    const final = await e2e.api.waitFinal(orderIds, 180_000);
    expect(tally([...final.values()].map((o) => o.status))).toEqual(new Map([["confirmed", 10]]));
    await expect
      .poll(() => e2e.api.stock(hot), { timeout: 15_000 })
      .toMatchObject({ variantId: hot, productId, available: 0, reserved: 0 });
    for (const id of siblings) expect(await e2e.api.stock(id)).toMatchObject({ available: 50, reserved: 0 });
    const counter = stateRedis(e2e.stack);
    await expect
      .poll(async () => [await counter.hget(`stock:${hot}`, "pg"), await counter.hget(`stock:${hot}`, "h")], {
        timeout: 15_000,
      })
      .toEqual(["0", "0"]);

    // One pricing: the 202's lines and subtotal are the order row's, its lines' and its email's.
    const order = orders[0];
    if (!order) throw new Error("no order accepted");
    expect(order.items).toMatchObject([
      { productId, variantId: hot, options: { Size: "S", Colour: "Red" }, qty: 1, unitPriceCents: 2_000 },
    ]);
    const row = await e2e.pipeline.pool.query<{
      subtotal: string;
      variant_id: string;
      options: unknown;
      unit: string;
    }>(
      `select o.subtotal_cents as subtotal, l.variant_id, l.options, l.unit_price_cents as unit
       from orders o join order_lines l using (order_id) where order_id = $1`,
      [order.orderId],
    );
    expect(row.rows.map((r) => [Number(r.subtotal), r.variant_id, r.options, Number(r.unit)])).toEqual([
      [order.subtotalCents, hot, { Size: "S", Colour: "Red" }, 2_000],
    ]);
    await expect
      .poll(async () => (await readRecords(e2e.pipeline.db, [order.orderId])).emails.get(order.orderId), {
        timeout: 15_000,
      })
      .toBe(1);
    const email = await e2e.pipeline.pool.query<{ body: string }>(
      "select body from emails where order_id = $1 and kind = 'order_confirmed'",
      [order.orderId],
    );
    const text = (email.rows[0]?.body ?? "")
      .replace(/=\r?\n/g, "")
      .replace(/=([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));
    expect(text).toContain(
      `1 x Tee ${productId}, Size S, Colour Red (${order.items[0]?.sku}): ${formatMoney(2_000, "USD")}`,
    );
  });

  it("a variant taken off its product while in a cart: the line is marked unavailable, checkout is 409 item_unavailable, nothing is held", async () => {
    const productId = uniqueProductId("e2e_tee_gone");
    const { body, variantIds } = tee(productId);
    await e2e.api.putProductBody(productId, body);
    for (const id of variantIds) await e2e.api.setStock(id, 5);
    const [gone, kept] = variantIds as [string, string];
    const cartId = await e2e.api.cartWithVariant(gone, 1);
    await e2e.api.request(`/v1/carts/${cartId}/items`, "POST", { variantId: kept, qty: 1 });

    await e2e.api.putProductBody(productId, {
      ...body,
      variants: body.variants.filter((v) => v.variantId !== gone),
    });
    const cart = await e2e.api.cart(cartId);
    expect(cart.items.map((l) => [l.variantId, l.unavailable ?? false, l.lineTotalCents])).toEqual([
      [gone, true, 0],
      [kept, false, 2_050],
    ]);
    expect(cart).toMatchObject({ itemCount: 1, subtotalCents: 2_050 });
    const answer = await e2e.api.checkout(cartId, "tok_visa");
    expect(answer).toMatchObject({
      status: 409,
      error: { code: "item_unavailable", details: { items: [{ variantId: gone }] } },
    });
    for (const id of [gone, kept])
      expect(await e2e.api.stock(id).catch(() => null)).not.toMatchObject({ reserved: 1 });
    const counter = stateRedis(e2e.stack);
    expect([null, "0"]).toContain(await counter.hget(`stock:${kept}`, "h"));
    // Removing the line lets the cart check out.
    await e2e.api.request(`/v1/carts/${cartId}/items/${gone}`, "DELETE");
    const placed = await e2e.api.checkout(cartId, "tok_visa");
    expect(placed.status).toBe(202);
    expect(placed.order?.items.map((l) => l.variantId)).toEqual([kept]);
  });
});
