import { describe, expect, it } from "vitest";
import { formatMoney } from "../consumers/src/email/render.ts";
import { uniqueProductId } from "./support/api.ts";
import { useE2e } from "./support/fixture.ts";
import { readRecords } from "./support/records.ts";

/** Issue 4, scenario 1: one confirmed and one declined order, end to end through the public API. */
describe("checkout outcomes end to end", () => {
  const e2e = useE2e();

  it("tok_visa: confirmed, stock reserved then committed, payment captured, one email", async () => {
    const productId = uniqueProductId("e2e_ok");
    await e2e.api.createProduct(productId, 5);
    const cartId = await e2e.api.cartWith(productId, 2);
    const answer = await e2e.api.checkout(cartId, "tok_visa");
    expect(answer.status).toBe(202);
    const orderId = answer.order?.orderId ?? "";
    expect(answer.order?.status).toBe("pending");

    const final = await e2e.api.waitFinal([orderId]);
    expect(final.get(orderId)).toMatchObject({ status: "confirmed", subtotalCents: 2_500 });
    expect(final.get(orderId)?.reason).toBeUndefined();
    // Reserved (held) during the saga, then committed: sold units leave both columns. Three changes
    // of the stock row, three versions: the admin's set, the hold, the commit.
    await expect
      .poll(() => e2e.api.stock(productId), { timeout: 10_000 })
      .toEqual({ variantId: productId, productId, available: 3, reserved: 0, version: 3 });
    await expect
      .poll(async () => (await readRecords(e2e.pipeline.db, [orderId])).payments.get(orderId), {
        timeout: 10_000,
      })
      .toBe("captured");
    await expect
      .poll(async () => (await readRecords(e2e.pipeline.db, [orderId])).emails.get(orderId), {
        timeout: 10_000,
      })
      .toBe(1);
    const records = await readRecords(e2e.pipeline.db, [orderId]);
    expect(records.orders.get(orderId)).toEqual({ status: "confirmed", reason: null });
    // Settlements (reservations committed or released) may finish after the final state.
    await expect
      .poll(async () => (await readRecords(e2e.pipeline.db, [orderId])).heldReservations, { timeout: 30_000 })
      .toBe(0);
    const reservation = await e2e.pipeline.pool.query<{ status: string; qty: number }>(
      "select status, qty from stock_reservations where order_id = $1",
      [orderId],
    );
    expect(reservation.rows).toEqual([{ status: "committed", qty: 2 }]);
  });

  it("tok_chargeDeclined: cancelled payment_declined, stock released, payment declined, one email", async () => {
    const productId = uniqueProductId("e2e_decl");
    await e2e.api.createProduct(productId, 5);
    const cartId = await e2e.api.cartWith(productId, 2);
    const answer = await e2e.api.checkout(cartId, "tok_chargeDeclined");
    expect(answer.status).toBe(202);
    const orderId = answer.order?.orderId ?? "";

    const final = await e2e.api.waitFinal([orderId]);
    expect(final.get(orderId)).toMatchObject({ status: "cancelled", reason: "payment_declined" });
    await expect
      .poll(() => e2e.api.stock(productId), { timeout: 10_000 })
      .toMatchObject({ productId, available: 5, reserved: 0 });
    await expect
      .poll(async () => (await readRecords(e2e.pipeline.db, [orderId])).emails.get(orderId), {
        timeout: 10_000,
      })
      .toBe(1);
    const records = await readRecords(e2e.pipeline.db, [orderId]);
    expect(["declined", "voided"]).toContain(records.payments.get(orderId));
    expect(records.orders.get(orderId)).toEqual({ status: "cancelled", reason: "payment_declined" });
    // Settlements (reservations committed or released) may finish after the final state.
    await expect
      .poll(async () => (await readRecords(e2e.pipeline.db, [orderId])).heldReservations, { timeout: 30_000 })
      .toBe(0);
    const email = await e2e.pipeline.pool.query<{ kind: string }>(
      "select kind from emails where order_id = $1",
      [orderId],
    );
    expect(email.rows).toEqual([{ kind: "order_cancelled" }]);
  });

  it("one price everywhere: the cart's total is the checkout's answer, the order row, the charge and the email", async () => {
    const kettle = uniqueProductId("e2e_price_a");
    const towel = uniqueProductId("e2e_price_b");
    await e2e.api.createProduct(kettle, 10, 1_999);
    await e2e.api.createProduct(towel, 10, 333);
    const cartId = await e2e.api.cartWith(kettle, 3);
    const cart = await e2e.api.addItem(cartId, towel, 2);
    const lines = (
      items: ReadonlyArray<{ productId: string; unitPriceCents: number; lineTotalCents: number }>,
    ) => items.map((l) => [l.productId, l.unitPriceCents, l.lineTotalCents]).sort();
    expect(cart.subtotalCents).toBe(3 * 1_999 + 2 * 333);
    expect(lines(cart.items)).toEqual([
      [kettle, 1_999, 5_997],
      [towel, 333, 666],
    ]);

    const answer = await e2e.api.checkout(cartId, "tok_visa");
    expect(answer.status).toBe(202);
    const orderId = answer.order?.orderId ?? "";
    expect(answer.order?.subtotalCents).toBe(cart.subtotalCents);
    expect(lines(answer.order?.items ?? [])).toEqual(lines(cart.items));

    const final = await e2e.api.waitFinal([orderId]);
    expect(final.get(orderId)).toMatchObject({ status: "confirmed", subtotalCents: cart.subtotalCents });
    const row = await e2e.pipeline.pool.query<{ subtotal_cents: string; amount_cents: string }>(
      "select o.subtotal_cents, p.amount_cents from orders o join payments p using (order_id) where order_id = $1",
      [orderId],
    );
    expect(row.rows.map((r) => [Number(r.subtotal_cents), Number(r.amount_cents)])).toEqual([
      [cart.subtotalCents, cart.subtotalCents],
    ]);
    const recorded = await e2e.pipeline.pool.query<{ product_id: string; unit: string; total: string }>(
      "select product_id, unit_price_cents as unit, line_total_cents as total from order_lines where order_id = $1",
      [orderId],
    );
    expect(recorded.rows.map((r) => [r.product_id, Number(r.unit), Number(r.total)]).sort()).toEqual(
      lines(cart.items),
    );
    await expect
      .poll(async () => (await readRecords(e2e.pipeline.db, [orderId])).emails.get(orderId), {
        timeout: 10_000,
      })
      .toBe(1);
    const email = await e2e.pipeline.pool.query<{ body: string }>(
      "select body from emails where order_id = $1 and kind = 'order_confirmed'",
      [orderId],
    );
    // The text part is quoted-printable: soft line breaks joined, escapes decoded.
    const body = (email.rows[0]?.body ?? "")
      .replace(/=\r?\n/g, "")
      .replace(/=([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));
    for (const line of cart.items)
      expect(body).toContain(
        `${line.qty} x ${line.name} (${line.sku}): ${formatMoney(line.lineTotalCents, "USD")}`,
      );
    expect(body).toContain(formatMoney(cart.subtotalCents, "USD"));
  });

  it("a sale charges each checkout the price of its moment, and the order line records the list", async () => {
    const productId = uniqueProductId("e2e_sale");
    await e2e.api.createProduct(productId, 10, 2_500);
    const listId = uniqueProductId("e2e_list");
    const starts = Date.now() + 4_000;
    const ends = starts + 4_000;
    await e2e.api.putPriceList(listId, starts, ends, [{ variantId: productId, priceCents: 1_999 }]);
    const carts = [
      await e2e.api.cartWith(productId, 2),
      await e2e.api.cartWith(productId, 2),
      await e2e.api.cartWith(productId, 2),
    ];
    const sleepUntil = (ms: number) =>
      new Promise((resolve) => setTimeout(resolve, Math.max(0, ms - Date.now())));
    const placed = [];
    for (const [i, moment] of [Date.now(), starts + 300, ends + 300].entries()) {
      await sleepUntil(moment);
      const answer = await e2e.api.checkout(carts[i] ?? "", "tok_visa");
      expect(answer.status).toBe(202);
      placed.push(answer.order);
    }
    expect(
      placed.map((order) => [order?.items[0]?.unitPriceCents, order?.items[0]?.compareAtPriceCents]),
    ).toEqual([
      [2_500, undefined],
      [1_999, 2_500],
      [2_500, undefined],
    ]);
    expect(placed.map((order) => order?.subtotalCents)).toEqual([5_000, 3_998, 5_000]);

    const ids = placed.map((order) => order?.orderId ?? "");
    await e2e.api.waitFinal(ids);
    const rows = await e2e.pipeline.pool.query<{
      order_id: string;
      unit: string;
      compare_at: string | null;
      price_list_id: string | null;
      amount: string;
    }>(
      `select l.order_id, l.unit_price_cents as unit, l.compare_at_price_cents as compare_at, l.price_list_id,
         p.amount_cents as amount
       from order_lines l join payments p using (order_id) where l.order_id = any($1)`,
      [ids],
    );
    const byOrder = new Map(rows.rows.map((r) => [r.order_id, r]));
    expect(
      ids.map((id) => {
        const r = byOrder.get(id);
        return [
          Number(r?.unit),
          r?.compare_at === null ? null : Number(r?.compare_at),
          r?.price_list_id,
          Number(r?.amount),
        ];
      }),
    ).toEqual([
      [2_500, null, null, 5_000],
      [1_999, 2_500, listId, 3_998],
      [2_500, null, null, 5_000],
    ]);
    const [, sale] = ids;
    expect((await e2e.api.order(sale ?? "")).items[0]).toMatchObject({
      unitPriceCents: 1_999,
      compareAtPriceCents: 2_500,
    });
  });
});
