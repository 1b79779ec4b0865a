import { describe, expect, it } from "vitest";
import { placeAll, uniqueProductId } from "./support/api.ts";
import { useE2e } from "./support/fixture.ts";
import { tally } from "./support/records.ts";

/** The edge stock counter against the whole pipeline: holds released at once, admin writes racing. */
describe("the edge stock counter end to end", () => {
  const e2e = useE2e();

  it("a declined payment releases its hold: the unit can be bought by the next checkout at once", async () => {
    const productId = uniqueProductId("e2e_hold");
    await e2e.api.createProduct(productId, 1);
    const declined = await e2e.api.checkout(await e2e.api.cartWith(productId, 1), "tok_chargeDeclined");
    expect(declined.status).toBe(202);
    const orderId = declined.order?.orderId ?? "";
    // The unit is held for the declined order until the pipeline decides it; a pipeline faster than
    // this second checkout has released it already, and only then may the unit sell again.
    const meanwhile = await e2e.api.checkout(await e2e.api.cartWith(productId, 1), "tok_visa");
    if (meanwhile.status !== 202) {
      expect(meanwhile.error).toMatchObject({
        code: "out_of_stock",
        details: { items: [{ productId, requested: 1, available: 0 }] },
      });
    }
    const final = await e2e.api.waitFinal([orderId]);
    expect(final.get(orderId)).toMatchObject({ status: "cancelled", reason: "payment_declined" });
    if (meanwhile.status === 202) return;
    // Released with the cancellation: the next shopper gets the unit without waiting for a hold TTL.
    const next = await e2e.api.cartWith(productId, 1);
    await expect
      .poll(async () => (await e2e.api.checkout(next, "tok_visa")).status, { timeout: 10_000, interval: 200 })
      .toBe(202);
  });

  it("admin sets stock to 5 while checkouts race: never more than the stock set is sold", async () => {
    const productId = uniqueProductId("e2e_set");
    await e2e.api.createProduct(productId, 40);
    const cartIds = await Promise.all(Array.from({ length: 60 }, () => e2e.api.cartWith(productId, 1)));
    // No order is confirmed before the stock is set (payment waits): every unit sold before the set
    // is then still held, in `reserved`, so the bound below is exact.
    await e2e.pipeline.running.get("payment")?.stop();
    const racing = placeAll(e2e.api, cartIds, "tok_visa", 20);
    await new Promise((r) => setTimeout(r, 150));
    const set = await e2e.api.setStock(productId, 5);
    await e2e.pipeline.start("payment");
    const answers = await racing;

    const orderIds = answers.flatMap((a) => (a.order ? [a.order.orderId] : []));
    const final = await e2e.api.waitFinal(orderIds, 120_000);
    const confirmed = [...final.values()].filter((o) => o.status === "confirmed").length;
    // Units already held when the stock was set stay sold; after it, at most the 5 set.
    expect(confirmed).toBeLessThanOrEqual(set.reserved + 5);
    // Every checkout was either accepted or refused for stock at once; nothing else.
    const outcomes = tally(answers.map((a) => a.error?.code ?? String(a.status)));
    expect([...outcomes.keys()].every((o) => o === "202" || o === "out_of_stock")).toBe(true);
    expect(outcomes.get("202") ?? 0).toBe(orderIds.length);
    await expect
      .poll(() => e2e.api.stock(productId), { timeout: 15_000 })
      .toMatchObject({ reserved: 0, available: set.reserved + 5 - confirmed });
  });
});
