import { describe, expect, it } from "vitest";
import { checkoutAll, uniqueProductId } from "./support/api.ts";
import { useE2e } from "./support/fixture.ts";
import { readRecords, readStock, tally } from "./support/records.ts";

/** Issue 4, scenario 2: 200 shoppers race for 10 units. */
describe("no oversell under a checkout race", () => {
  const e2e = useE2e();

  it("10 units, 200 concurrent checkouts of 1: exactly 10 confirmed, 190 out_of_stock", async () => {
    const productId = uniqueProductId("e2e_race");
    await e2e.api.createProduct(productId, 10);
    const cartIds = await Promise.all(Array.from({ length: 200 }, () => e2e.api.cartWith(productId, 1)));

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
    const placed = await checkoutAll(e2e.api, cartIds);
    const accepted = Date.now() - started;
    const orderIds = placed.map((o) => o.orderId);
    expect(new Set(orderIds).size).toBe(200);
    const final = await e2e.api.waitFinal(orderIds, 180_000);
    watching = false;
    await watcher;
    console.log(
      `[e2e race] 200 checkouts accepted in ${accepted} ms, all final in ${Date.now() - started} ms`,
    );

    const outcomes = tally([...final.values()].map((o) => `${o.status}:${o.reason ?? ""}`));
    expect(Object.fromEntries(outcomes)).toEqual({ "confirmed:": 10, "cancelled:out_of_stock": 190 });
    expect(lowest).toBeGreaterThanOrEqual(0);
    await expect
      .poll(() => e2e.api.stock(productId), { timeout: 15_000 })
      // The set, then a hold and a commit per confirmed order; refused holds change nothing.
      .toEqual({ productId, available: 0, reserved: 0, version: 1 + 2 * 10 });

    const confirmed = orderIds.filter((id) => final.get(id)?.status === "confirmed");
    await expect
      .poll(
        async () =>
          [...(await readRecords(e2e.pipeline.db, orderIds)).emails.values()].reduce((a, b) => a + b, 0),
        {
          timeout: 15_000,
        },
      )
      .toBe(200);
    await expect
      .poll(
        async () => {
          const records = await readRecords(e2e.pipeline.db, orderIds);
          return confirmed.filter((id) => records.payments.get(id) === "captured").length;
        },
        { timeout: 15_000 },
      )
      .toBe(10);
    const records = await readRecords(e2e.pipeline.db, orderIds);
    expect(records.heldReservations).toBe(0);
    expect([...records.emails.values()].every((n) => n === 1)).toBe(true);
    // Cancelled orders hold no captured payment.
    const capturedCancelled = orderIds.filter(
      (id) => final.get(id)?.status === "cancelled" && records.payments.get(id) === "captured",
    );
    expect(capturedCancelled).toEqual([]);
  });
});
