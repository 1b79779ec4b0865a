import { randomUUID } from "node:crypto";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { emails, orders } from "../../../db/schema/index.ts";
import type { OrderPlaced } from "../../../domain/events.ts";
import { ORDER_STATUS_TTL_SECONDS, orderStatusKey } from "../../../domain/orders.ts";
import { TOPICS } from "../../../domain/topics.ts";
import { createEmailConsumer } from "../email/index.ts";
import { inventoryConsumer } from "../inventory/index.ts";
import { createPaymentConsumer, createSimulatedProcessor } from "../payment/index.ts";
import type { ConsumerDefinition } from "../runtime/types.ts";
import { connectTestServices, deliver, deliverAll, runTaskOnce } from "../test-support/handler-harness.ts";
import {
  createStockedProduct,
  insertPendingOrder,
  orderPlacedEvent,
  outboxFor,
  pendingOrderRecord,
  readOrder,
  readPayment,
  readStock,
} from "../test-support/order-fixtures.ts";
import { createOrderStateConsumer, createRedisOrderStatusCache, DEADLINE_TASK } from "./index.ts";

/**
 * The saga deadline, without Kafka: the payment step never answers, the sweep (run on demand here)
 * cancels the order with payment_timeout, and the compensations run through order-finalized like for
 * any cancellation. Time is moved by giving the orders old `created_at` values, never by waiting.
 */
const { db, redis } = connectTestServices();

const LIMIT_MS = 5 * 60_000;
const processor = createSimulatedProcessor();
const payment = createPaymentConsumer({ processor });
const orderState = createOrderStateConsumer({
  statusCache: createRedisOrderStatusCache(redis),
  pendingLimitMs: LIMIT_MS,
});
const stepsOfOrder: ConsumerDefinition[] = [inventoryConsumer, orderState];
const finalizedListeners: ConsumerDefinition[] = [inventoryConsumer, payment, createEmailConsumer()];

/** Delivers an event to `consumers` and everything they emit onwards, until nothing is left. */
const pump = (consumers: ConsumerDefinition[], topic: string, event: Record<string, unknown>) =>
  deliverAll(db, consumers, topic, event);

/** Checkout and the orders step for an order created `ageMs` ago; the payment consumer never hears of it. */
const placeWithoutPayment = async (ageMs: number): Promise<{ placed: OrderPlaced; productId: string }> => {
  const productId = await createStockedProduct(db, 5);
  const placed = orderPlacedEvent([{ productId, qty: 2 }]);
  await insertPendingOrder(db, placed);
  await db
    .update(orders)
    .set({ createdAt: new Date(Date.now() - ageMs) })
    .where(eq(orders.orderId, placed.orderId));
  const record = JSON.stringify(pendingOrderRecord(placed));
  await redis.set(orderStatusKey(placed.orderId), record, "EX", ORDER_STATUS_TTL_SECONDS);
  await pump(stepsOfOrder, TOPICS.orderPlaced, placed);
  const recorded = { eventId: randomUUID(), orderId: placed.orderId, recordedAt: new Date().toISOString() };
  await pump(stepsOfOrder, TOPICS.orderRecorded, recorded);
  return { placed, productId };
};

const finalizedEvents = (orderId: string) => outboxFor(db, orderId, TOPICS.orderFinalized);
const emailKinds = async (orderId: string) =>
  (await db.select({ kind: emails.kind }).from(emails).where(eq(emails.orderId, orderId))).map((e) => e.kind);

describe("saga deadline", () => {
  it("cancels an order whose payment never answers (payment_timeout): stock released, one email; a late authorization is voided", async () => {
    const { placed, productId } = await placeWithoutPayment(LIMIT_MS + 60_000);
    const young = await placeWithoutPayment(LIMIT_MS - 60_000);
    expect(await readOrder(db, placed.orderId)).toMatchObject({ status: "pending" });
    expect(await readStock(db, productId)).toEqual({ available: 3, reserved: 2 });

    await runTaskOnce(db, orderState, DEADLINE_TASK);
    const [finalized, ...more] = await finalizedEvents(placed.orderId);
    expect(more).toEqual([]);
    expect(finalized?.payload).toMatchObject({ status: "cancelled", reason: "payment_timeout" });
    expect(await readOrder(db, placed.orderId)).toMatchObject({
      status: "cancelled",
      reason: "payment_timeout",
    });
    expect(JSON.parse((await redis.get(orderStatusKey(placed.orderId))) ?? "null")).toMatchObject({
      status: "cancelled",
      reason: "payment_timeout",
    });
    // The younger order is still within its limit.
    expect(await readOrder(db, young.placed.orderId)).toMatchObject({ status: "pending" });
    expect(await finalizedEvents(young.placed.orderId)).toEqual([]);

    // The compensations, as for any cancellation: the hold released, nothing to void yet, one email.
    await pump(finalizedListeners, TOPICS.orderFinalized, finalized?.payload ?? {});
    expect(await readStock(db, productId)).toEqual({ available: 5, reserved: 0 });
    expect(await readPayment(db, placed.orderId)).toBeUndefined();
    expect(await emailKinds(placed.orderId)).toEqual(["order_cancelled"]);

    // A second pass finds nothing to do.
    await runTaskOnce(db, orderState, DEADLINE_TASK);
    expect(await finalizedEvents(placed.orderId)).toHaveLength(1);

    // The processor answers at last: the late authorization is recorded, announced, and voided.
    await pump([payment, orderState], TOPICS.orderPlaced, placed);
    const announced = await finalizedEvents(placed.orderId);
    expect(announced.map((e) => e.payload)).toEqual([
      expect.objectContaining({ status: "cancelled", reason: "payment_timeout" }),
      expect.objectContaining({ status: "cancelled", reason: "payment_timeout" }),
    ]);
    await pump(finalizedListeners, TOPICS.orderFinalized, announced[1]?.payload ?? {});
    expect(await readPayment(db, placed.orderId)).toMatchObject({ status: "voided" });
    expect(processor.stateOf(placed.orderId)).toBe("voided");
    expect(processor.authorizationsOf(placed.orderId)).toBe(1);
    expect(await emailKinds(placed.orderId)).toEqual(["order_cancelled"]);
    expect(await readStock(db, productId)).toEqual({ available: 5, reserved: 0 });
    expect(await readOrder(db, placed.orderId)).toMatchObject({
      status: "cancelled",
      reason: "payment_timeout",
    });
  });

  it("decides an overdue order whose results are in but were never joined, as usual", async () => {
    const productId = await createStockedProduct(db, 5);
    const placed = orderPlacedEvent([{ productId, qty: 1 }]);
    await insertPendingOrder(db, placed);
    await db
      .update(orders)
      .set({ createdAt: new Date(Date.now() - LIMIT_MS - 60_000) })
      .where(eq(orders.orderId, placed.orderId));
    // Inventory and payment answered, but order-recorded never reached order-state.
    await pump([inventoryConsumer, payment, orderState], TOPICS.orderPlaced, placed);
    expect(await readOrder(db, placed.orderId)).toMatchObject({ status: "pending" });
    await runTaskOnce(db, orderState, DEADLINE_TASK);
    expect(await readOrder(db, placed.orderId)).toMatchObject({ status: "confirmed", reason: null });
    // order-recorded arriving now changes nothing: the order is final.
    const recorded = { eventId: randomUUID(), orderId: placed.orderId, recordedAt: new Date().toISOString() };
    expect((await deliver(db, orderState, TOPICS.orderRecorded, recorded)).emitted).toEqual([]);
    expect(await finalizedEvents(placed.orderId)).toHaveLength(1);
  });
});
