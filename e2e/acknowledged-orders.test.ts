import { Redis } from "ioredis";
import { afterAll, describe, expect, inject, it } from "vitest";
import { type OrderPlaced, OrderPlacedSchema } from "../domain/events.ts";
import { randomToken } from "../domain/ids.ts";
import { ACKED_ORDERS_KEY, ackedOrderKey } from "../domain/orders.ts";
import { uniqueProductId } from "./support/api.ts";
import { useE2e } from "./support/fixture.ts";
import { waitFor } from "./support/pipeline.ts";
import { readRecords, readStock } from "./support/records.ts";

/**
 * Acknowledged means durable: an order Kafka acknowledged to checkout but that never reached the
 * pipeline (a broker that lost the write) is found by the orders consumer's reconciliation, published
 * again from its frozen payload, and carried to its outcome like any other. On the drill's own Redis,
 * so no other file's acknowledged orders are in the way.
 */
const stack = inject("stack");
describe("an acknowledged order that never reached Postgres", () => {
  const e2e = useE2e({
    services: {
      redisUrl: stack.drillRedisUrl,
      redisRestUrl: stack.drillRedisRestUrl,
      redisRestToken: stack.drillRedisRestToken,
    },
    settings: { ORDER_RECONCILE_AFTER_MS: "1000", ORDER_RECONCILE_INTERVAL_MS: "200" },
  });
  const redis = new Redis(stack.drillRedisUrl);
  afterAll(() => redis.disconnect());

  it("is published again by the reconciliation and confirmed, then forgotten", async () => {
    const productId = uniqueProductId("e2e_acked");
    await e2e.api.createProduct(productId, 5, 2_000);
    const orderId = `ord_${randomToken()}`;
    const placed: OrderPlaced = OrderPlacedSchema.parse({
      eventId: `order-placed:${orderId}`,
      orderId,
      cartId: randomToken(),
      email: "lost@example.com",
      items: [
        {
          productId,
          sku: `SKU-${productId}`.slice(0, 64),
          name: "Lost order",
          qty: 2,
          unitPriceCents: 2_000,
        },
      ],
      subtotalCents: 4_000,
      currency: "USD",
      paymentToken: "tok_visa",
      shippingAddress: {
        name: "A Shopper",
        line1: "1 Test Street",
        city: "Testville",
        postalCode: "12345",
        country: "US",
      },
      placedAt: new Date().toISOString(),
    });
    // What checkout keeps when Kafka acknowledges an order (the write the broker then lost).
    await redis.zadd(ACKED_ORDERS_KEY, Date.now() - 2_000, orderId);
    await redis.hset(ackedOrderKey(orderId), "p", JSON.stringify(placed));

    // Not there until the reconciliation finds it (1 s after its acknowledgement) and publishes it.
    await waitFor("the order recorded", async () =>
      (await readRecords(e2e.pipeline.db, [orderId])).orders.has(orderId),
    );
    const final = await e2e.api.waitFinal([orderId], 60_000);
    expect(final.get(orderId)).toMatchObject({ status: "confirmed", subtotalCents: 4_000 });
    expect(await readStock(e2e.pipeline.db, productId)).toEqual({ available: 3, reserved: 0 });
    await waitFor(
      "forgotten once recorded",
      async () => (await redis.zscore(ACKED_ORDERS_KEY, orderId)) === null,
    );
    expect(await redis.exists(ackedOrderKey(orderId))).toBe(0);
  });
});
