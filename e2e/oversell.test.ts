import { describe, expect, it } from "vitest";
import { placeAll, uniqueProductId } from "./support/api.ts";
import { useE2e } from "./support/fixture.ts";
import { readRecords, readStock, stateRedis, tally } from "./support/records.ts";

/** A flash sale: 1,000 shoppers race for 100 units, and the sold-out answer is immediate and exact. */
describe("no oversell under a checkout race", () => {
  const e2e = useE2e();

  it("100 units, 1,000 checkouts (200 at a time): 100 accepted and confirmed, 900 answered out_of_stock at once", async () => {
    const productId = uniqueProductId("e2e_race");
    await e2e.api.createProduct(productId, 100);
    const cartIds: string[] = [];
    for (let i = 0; i < 1_000; i += 50)
      cartIds.push(...(await Promise.all(Array.from({ length: 50 }, () => e2e.api.cartWith(productId, 1)))));

    // Watch the stock of record while the orders run: it must never go below zero.
    let lowest = Number.POSITIVE_INFINITY;
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        lowest = Math.min(lowest, (await readStock(e2e.pipeline.db, productId)).available);
        await new Promise((r) => setTimeout(r, 20));
      }
    })();

    const started = Date.now();
    // 200 shoppers in flight at a time on the one local worker thread; 503s and clicks still running are
    // retried with their key, as a shopper's app would.
    const answers = await placeAll(e2e.api, cartIds, "tok_visa", 200);
    const answered = Date.now() - started;
    expect(tally(answers.map((a) => a.error?.code ?? String(a.status)))).toEqual(
      new Map([
        ["202", 100],
        ["out_of_stock", 900],
      ]),
    );
    for (const answer of answers.filter((a) => a.error)) {
      expect(answer.error?.details).toEqual({
        items: [{ productId, variantId: productId, requested: 1, available: 0 }],
      });
    }
    const orderIds = answers.flatMap((a) => (a.order ? [a.order.orderId] : []));
    const final = await e2e.api.waitFinal(orderIds, 180_000);
    watching = false;
    await watcher;
    console.log(
      `[e2e race] 1,000 checkouts answered in ${answered} ms, 100 final in ${Date.now() - started} ms`,
    );

    // Nothing was cancelled for stock: the counter said no at checkout.
    const outcomes = tally([...final.values()].map((o) => `${o.status}:${o.reason ?? ""}`));
    expect(Object.fromEntries(outcomes)).toEqual({ "confirmed:": 100 });
    expect(lowest).toBeGreaterThanOrEqual(0);
    await expect
      .poll(() => e2e.api.stock(productId), { timeout: 15_000 })
      .toMatchObject({ productId, available: 0, reserved: 0 });
    const counter = stateRedis(e2e.stack);
    const key = `stock:${productId}`;
    await expect
      .poll(async () => [await counter.hget(key, "pg"), await counter.hget(key, "h")], { timeout: 15_000 })
      .toEqual(["0", "0"]);

    await expect
      .poll(
        async () =>
          [...(await readRecords(e2e.pipeline.db, orderIds)).emails.values()].reduce((a, b) => a + b, 0),
        { timeout: 15_000 },
      )
      .toBe(100);
    await expect
      .poll(
        async () => {
          const records = await readRecords(e2e.pipeline.db, orderIds);
          return orderIds.filter((id) => records.payments.get(id) === "captured").length;
        },
        { timeout: 15_000 },
      )
      .toBe(100);
    const records = await readRecords(e2e.pipeline.db, orderIds);
    // Settlements (reservations committed or released) may finish after the final state.
    await expect
      .poll(async () => (await readRecords(e2e.pipeline.db, orderIds)).heldReservations, { timeout: 30_000 })
      .toBe(0);
    expect([...records.emails.values()].every((n) => n === 1)).toBe(true);
  });
});
