import { randomUUID } from "node:crypto";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { inventory } from "../../../db/schema/index.ts";
import type { OrderPlaced } from "../../../domain/events.ts";
import { orderStatusKey } from "../../../domain/orders.ts";
import { TOPICS } from "../../../domain/topics.ts";
import { createInventoryConsumer } from "../inventory/index.ts";
import { createPaymentConsumer, createSimulatedProcessor } from "../payment/index.ts";
import type { ConsumerDefinition } from "../runtime/types.ts";
import { connectTestServices, deliverAll, forward, reportRecorded } from "../test-support/handler-harness.ts";
import {
  createStockedProduct,
  insertPendingOrder,
  orderPlacedEvent,
  outboxFor,
  readOrder,
  readPayment,
  readStock,
  writePendingRecord,
} from "../test-support/order-fixtures.ts";
import { createOrderStateConsumer, createRedisOrderStatusCache } from "./index.ts";

/**
 * The whole saga after checkout, without Kafka: every event a consumer emits to the outbox is handed
 * to the consumers subscribed to its topic, until nothing is left. The orders consumer is stood in
 * for by writing the pending order and reporting it to the saga's join.
 */
const { db, redis } = connectTestServices();
const processor = createSimulatedProcessor();
const statusCache = createRedisOrderStatusCache(redis);
const home = createOrderStateConsumer({ statusCache });
const consumers: ConsumerDefinition[] = [
  createInventoryConsumer({ statusCache }),
  createPaymentConsumer({ processor, statusCache }),
];

const pump = (topic: string, event: Record<string, unknown>): Promise<void> =>
  deliverAll(db, consumers, topic, event);

const checkout = async (placed: OrderPlaced): Promise<void> => {
  await insertPendingOrder(db, placed);
  await writePendingRecord(redis, placed);
  await pump(TOPICS.orderPlaced, placed);
  await forward(db, consumers, (await reportRecorded(db, placed.orderId, home)).emitted);
};
const redisStatus = async (orderId: string): Promise<unknown> =>
  JSON.parse((await redis.get(orderStatusKey(orderId))) ?? "null");

describe("order saga across inventory, payment and order-state", () => {
  it("confirms an order: stock committed, payment captured", async () => {
    const productId = await createStockedProduct(db, 5);
    const placed = orderPlacedEvent([{ productId, qty: 2 }]);
    await checkout(placed);
    expect(await readOrder(db, placed.orderId)).toMatchObject({ status: "confirmed" });
    expect(await readStock(db, productId)).toEqual({ available: 3, reserved: 0 });
    expect(await readPayment(db, placed.orderId)).toMatchObject({ status: "captured" });
    expect(processor.stateOf(placed.orderId)).toBe("captured");
    expect(await redisStatus(placed.orderId)).toMatchObject({ status: "confirmed" });
  });

  it("undoes the stock hold when the payment is declined", async () => {
    const productId = await createStockedProduct(db, 5);
    const placed = orderPlacedEvent([{ productId, qty: 2 }], { paymentToken: "tok_chargeDeclined" });
    await checkout(placed);
    expect(await readOrder(db, placed.orderId)).toMatchObject({
      status: "cancelled",
      reason: "payment_declined",
    });
    expect(await readStock(db, productId)).toEqual({ available: 5, reserved: 0 });
    expect(await readPayment(db, placed.orderId)).toMatchObject({ status: "declined" });
    expect(await redisStatus(placed.orderId)).toMatchObject({
      status: "cancelled",
      reason: "payment_declined",
    });
  });

  it("voids the payment authorization when the stock is short", async () => {
    const [plenty, scarce] = [await createStockedProduct(db, 5), await createStockedProduct(db, 1)];
    const placed = orderPlacedEvent([
      { productId: plenty, qty: 1 },
      { productId: scarce, qty: 2 },
    ]);
    await checkout(placed);
    expect(await readOrder(db, placed.orderId)).toMatchObject({
      status: "cancelled",
      reason: "out_of_stock",
    });
    expect(await readPayment(db, placed.orderId)).toMatchObject({ status: "voided" });
    expect(processor.stateOf(placed.orderId)).toBe("voided");
    expect(processor.authorizationsOf(placed.orderId)).toBe(1);
    expect(await readStock(db, plenty)).toEqual({ available: 5, reserved: 0 });
    expect(await readStock(db, scarce)).toEqual({ available: 1, reserved: 0 });
  });

  it("changes nothing when the whole order is replayed with new event ids", async () => {
    const productId = await createStockedProduct(db, 5);
    const placed = orderPlacedEvent([{ productId, qty: 2 }], { paymentToken: "tok_chargeDeclined" });
    await checkout(placed);
    const outboxBefore = await outboxFor(db, placed.orderId);
    await pump(TOPICS.orderPlaced, { ...placed, eventId: randomUUID() });
    for (const finalized of await outboxFor(db, placed.orderId, TOPICS.orderFinalized)) {
      await pump(TOPICS.orderFinalized, { ...finalized.payload, eventId: randomUUID() });
    }
    expect(await outboxFor(db, placed.orderId)).toEqual(outboxBefore);
    expect(await readStock(db, productId)).toEqual({ available: 5, reserved: 0 });
    expect(await readOrder(db, placed.orderId)).toMatchObject({
      status: "cancelled",
      reason: "payment_declined",
    });
  });

  it("releases a hold that a late duplicate made after the order was cancelled for missing stock", async () => {
    const productId = await createStockedProduct(db, 1);
    const placed = orderPlacedEvent([{ productId, qty: 2 }]);
    await checkout(placed);
    expect(await readOrder(db, placed.orderId)).toMatchObject({
      status: "cancelled",
      reason: "out_of_stock",
    });
    // Restocked, then the same order arrives again under a new event id: inventory now holds it,
    // order-state sees the contradiction and announces the cancellation again, which releases it.
    await db.update(inventory).set({ available: 5 }).where(eq(inventory.variantId, productId));
    await pump(TOPICS.orderPlaced, { ...placed, eventId: randomUUID() });
    expect(await readStock(db, productId)).toEqual({ available: 5, reserved: 0 });
    expect(await readOrder(db, placed.orderId)).toMatchObject({
      status: "cancelled",
      reason: "out_of_stock",
    });
    expect(await readPayment(db, placed.orderId)).toMatchObject({ status: "voided" });
  });
});
