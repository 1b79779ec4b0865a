import { randomUUID } from "node:crypto";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { orderLines, orders } from "../../../db/schema/index.ts";
import { TOPICS } from "../../../domain/topics.ts";
import { useConsumerTest } from "../test-support/consumer-run.ts";
import { waitUntil } from "../test-support/kafka.ts";
import { progressOf, stepsOf } from "../test-support/order-fixtures.ts";
import { samplePlacedOrder } from "../test-support/placed-order.ts";
import { countProcessed } from "../test-support/probe-consumer.ts";
import { ordersConsumer } from "./index.ts";

const t = useConsumerTest({ topics: [TOPICS.orderPlaced], def: ordersConsumer });
const { topicPrefix, db } = t;
const PLACED = `${topicPrefix}${TOPICS.orderPlaced}`;

describe("orders consumer", () => {
  it("records a placed order as pending with its lines and reports it to the saga's join", async () => {
    const placed = samplePlacedOrder();
    await t.producer.send([{ topic: PLACED, key: placed.orderId, value: placed }]);
    await waitUntil(
      "the order reported",
      async () => (await stepsOf(db, placed.orderId)).recorded === "recorded",
    );

    const [order] = await db.select().from(orders).where(eq(orders.orderId, placed.orderId));
    expect(order).toMatchObject({
      status: "pending",
      reason: null,
      email: placed.email,
      cartId: placed.cartId,
      subtotalCents: 3299,
      currency: "USD",
      shippingAddress: placed.shippingAddress,
    });
    const lines = await db.select().from(orderLines).where(eq(orderLines.orderId, placed.orderId));
    expect(lines.map((l) => [l.productId, l.qty, l.unitPriceCents, l.lineTotalCents]).sort()).toEqual([
      ["prod_0000001", 2, 1250, 2500],
      ["prod_0000002", 1, 799, 799],
    ]);
  });

  it("is idempotent on the event id and on the order id", async () => {
    const placed = samplePlacedOrder();
    const again = { ...placed, eventId: randomUUID() }; // the same order published twice
    const marker = samplePlacedOrder();
    await t.producer.send(
      [placed, placed, again, marker].map((e) => ({ topic: PLACED, key: placed.orderId, value: e })),
    );
    await waitUntil(
      "the marker order",
      async () => (await countProcessed(db, "orders", [marker.eventId])) === 1,
    );
    expect(await countProcessed(db, "orders", [placed.eventId, again.eventId])).toBe(2);
    expect(await db.select().from(orders).where(eq(orders.orderId, placed.orderId))).toHaveLength(1);
    expect(await db.select().from(orderLines).where(eq(orderLines.orderId, placed.orderId))).toHaveLength(2);
    // Reported by the transaction that recorded it (one now()), and never again by the repeats.
    const reported = await progressOf(db, placed.orderId);
    const [order] = await db.select().from(orders).where(eq(orders.orderId, placed.orderId));
    expect(reported?.steps).toEqual({ recorded: "recorded" });
    expect(reported?.updatedAt).toEqual(order?.createdAt);
    expect(t.runner.counts()).toMatchObject({ "dead-lettered": 0 });
  });

  it("records the customer of an order placed with a customer token, and none for a guest", async () => {
    const customerId = `cus_${randomUUID().replaceAll("-", "").slice(0, 22)}`;
    const owned = samplePlacedOrder({ customerId });
    const guest = samplePlacedOrder();
    await t.producer.send([owned, guest].map((e) => ({ topic: PLACED, key: e.orderId, value: e })));
    await waitUntil(
      "both orders",
      async () => (await countProcessed(db, "orders", [owned.eventId, guest.eventId])) === 2,
    );
    const [ownedRow] = await db.select().from(orders).where(eq(orders.orderId, owned.orderId));
    const [guestRow] = await db.select().from(orders).where(eq(orders.orderId, guest.orderId));
    expect(ownedRow?.customerId).toBe(customerId);
    expect(guestRow?.customerId).toBeNull();
  });

  it("records the largest order a cart can hold: 100 lines of 99 units at the highest price", async () => {
    const unitPriceCents = 100_000_000; // the catalog's highest price, $1,000,000
    const items = Array.from({ length: 100 }, (_, i) => ({
      productId: `prod_${String(i + 1).padStart(7, "0")}`,
      sku: `SKU-${i + 1}`,
      name: `Line ${i + 1}`,
      qty: 99,
      unitPriceCents,
    }));
    const subtotalCents = 100 * 99 * unitPriceCents; // 990,000,000,000: far past a 32-bit column
    const placed = samplePlacedOrder({ items, subtotalCents });
    await t.producer.send([{ topic: PLACED, key: placed.orderId, value: placed }]);
    await waitUntil(
      "the order recorded",
      async () => (await countProcessed(db, "orders", [placed.eventId])) === 1,
    );
    const [order] = await db.select().from(orders).where(eq(orders.orderId, placed.orderId));
    expect(order?.subtotalCents).toBe(subtotalCents);
    const lines = await db.select().from(orderLines).where(eq(orderLines.orderId, placed.orderId));
    expect(lines).toHaveLength(100);
    for (const line of lines) expect(line.lineTotalCents).toBe(99 * unitPriceCents);
    expect(t.runner.counts()).toMatchObject({ "dead-lettered": 0 });
  });
});
