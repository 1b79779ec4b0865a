import { describe, expect, it } from "vitest";
import { overstateStockCounter, uniqueProductId } from "./support/api.ts";
import { useE2e } from "./support/fixture.ts";
import { sleep } from "./support/pipeline.ts";
import { readRecords, readStock, tally } from "./support/records.ts";

/** Issue 4, scenario 4: the inventory and payment consumers die mid-stream and come back. */
describe("consumers killed mid-stream and restarted", () => {
  const e2e = useE2e({
    // No grace at stop: events in flight are abandoned uncommitted, as when the process is killed.
    options: { inventory: { shutdownTimeoutMs: 0 }, payment: { shutdownTimeoutMs: 0 } },
  });

  it("every order still reaches exactly one final state; stock stays consistent", async () => {
    const productId = uniqueProductId("e2e_kill");
    const units = 25;
    const total = 60;
    await e2e.api.createProduct(productId, units);
    // More orders than units go down the pipeline: the edge counter is made wrong on purpose, so
    // Postgres alone decides who gets the stock (and cancels the rest out_of_stock).
    await overstateStockCounter(e2e.stack, productId);
    const cartIds = await Promise.all(Array.from({ length: total }, () => e2e.api.cartWith(productId, 1)));
    const tokenOf = (i: number): string => (i % 6 === 5 ? "tok_chargeDeclined" : "tok_visa");

    // A steady stream of checkouts, in waves of 10.
    const started = Date.now();
    const orderIds: string[] = [];
    const burst = (async () => {
      for (let i = 0; i < total; i += 10) {
        const answers = await Promise.all(
          cartIds.slice(i, i + 10).map((c, j) => e2e.api.checkout(c, tokenOf(i + j))),
        );
        for (const a of answers) {
          expect(a.status).toBe(202);
          if (a.order) orderIds.push(a.order.orderId);
        }
        await sleep(100);
      }
    })();

    // Mid-way: stop inventory and payment without a grace period, keep the checkouts coming, then
    // start them again in the same consumer groups (they resume from the committed offsets).
    while (orderIds.length < 20) await sleep(20);
    const victims = ["inventory", "payment"] as const;
    const killed = victims.map((name) => e2e.pipeline.running.get(name));
    const stopAt = orderIds.length;
    await Promise.all(killed.map((c) => c?.stop()));
    console.log(
      `[e2e kill] stopped inventory+payment after ${stopAt} orders (${Date.now() - started} ms); counts at stop: ${JSON.stringify(killed.map((c) => c?.counts()))}`,
    );
    await sleep(1_500);
    await Promise.all(victims.map((name) => e2e.pipeline.start(name, { shutdownTimeoutMs: 0 })));
    console.log(`[e2e kill] restarted at ${Date.now() - started} ms with ${orderIds.length} orders placed`);
    await burst;

    const final = await e2e.api.waitFinal(orderIds, 180_000);
    console.log(`[e2e kill] ${total} orders final in ${Date.now() - started} ms`);
    const outcomes = tally([...final.values()].map((o) => `${o.status}:${o.reason ?? ""}`));
    const confirmed = outcomes.get("confirmed:") ?? 0;
    expect(
      (outcomes.get("cancelled:payment_declined") ?? 0) +
        (outcomes.get("cancelled:out_of_stock") ?? 0) +
        confirmed,
    ).toBe(total);
    expect(confirmed).toBeLessThanOrEqual(units);

    // Settlements (commit / release, capture / void, email) finish after the final state.
    await expect
      .poll(async () => (await readRecords(e2e.pipeline.db, orderIds)).emails.size, { timeout: 20_000 })
      .toBe(total);
    await expect
      .poll(async () => (await readRecords(e2e.pipeline.db, orderIds)).heldReservations, { timeout: 20_000 })
      .toBe(0);
    const records = await readRecords(e2e.pipeline.db, orderIds);
    expect([...records.emails.values()].every((n) => n === 1)).toBe(true);
    for (const id of orderIds) {
      const order = final.get(id);
      expect(records.orders.get(id)).toEqual({ status: order?.status, reason: order?.reason ?? null });
      if (order?.status === "confirmed") expect(records.payments.get(id)).toBe("captured");
      else expect(records.payments.get(id)).not.toBe("captured");
    }
    expect(await readStock(e2e.pipeline.db, productId)).toEqual({
      available: units - confirmed,
      reserved: 0,
    });
    expect(await e2e.api.stock(productId)).toMatchObject({
      productId,
      available: units - confirmed,
      reserved: 0,
    });
  });
});
