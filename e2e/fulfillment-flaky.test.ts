import { describe, expect, it } from "vitest";
import { checkoutAll, uniqueProductId } from "./support/api.ts";
import { useE2e } from "./support/fixture.ts";
import { CONSUMER_NAMES, waitFor } from "./support/pipeline.ts";
import { readShippedStock, readShipping } from "./support/shipping.ts";

/** Issue 14: a warehouse that fails half its calls (before or after their effect) still ships each order once. */
describe("fulfillment with a flaky warehouse", () => {
  const e2e = useE2e({
    only: CONSUMER_NAMES,
    settings: {
      FULFILLMENT_SIM_FAILURE_RATE: "0.5",
      FULFILLMENT_SIM_SHIP_DELAY_MS: "1000",
      FULFILLMENT_POLL_INTERVAL_MS: "200",
      PAYMENT_RETRY_INITIAL_DELAY_MS: "50",
      PAYMENT_RETRY_MAX_DELAY_MS: "500",
    },
  });

  it("every confirmed order ships exactly once", async () => {
    const productId = uniqueProductId("e2e_flaky_ship");
    const count = 10;
    await e2e.api.createProduct(productId, count);
    const carts = await Promise.all(Array.from({ length: count }, () => e2e.api.cartWith(productId, 1)));
    const orderIds = (await checkoutAll(e2e.api, carts)).map((order) => order.orderId);
    await waitFor(
      "every order shipped",
      async () =>
        (await Promise.all(orderIds.map((id) => e2e.api.order(id)))).every((o) => o.status === "shipped"),
      180_000,
    );
    await expect
      .poll(() => readShippedStock(e2e.pipeline.db, productId), { timeout: 30_000 })
      .toEqual({ available: 0, reserved: 0, shipped: count });
    for (const orderId of orderIds) {
      await expect
        .poll(async () => (await readShipping(e2e.pipeline.db, orderId)).emails, { timeout: 30_000 })
        .toEqual({ order_confirmed: 1, order_shipped: 1 });
      expect(await readShipping(e2e.pipeline.db, orderId)).toMatchObject({ status: "shipped", shipments: 1 });
      expect(e2e.pipeline.warehouse.fulfillmentsOf(orderId)).toBe(1);
    }
    expect(e2e.pipeline.total("dead-lettered")).toBe(0);
  });
});
