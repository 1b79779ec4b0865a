import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { emails, orders, payments } from "../../../db/schema/index.ts";
import type { OrderPlaced } from "../../../domain/events.ts";
import { orderStatusKey } from "../../../domain/orders.ts";
import { TOPICS } from "../../../domain/topics.ts";
import { createEmailConsumer } from "../email/index.ts";
import { createInventoryConsumer } from "../inventory/index.ts";
import { ordersConsumer } from "../orders/index.ts";
import { createPaymentConsumer, createSimulatedProcessor, THREE_D_SECURE_TOKEN } from "../payment/index.ts";
import type { ConsumerDefinition } from "../runtime/types.ts";
import {
  connectTestServices,
  deliverAll,
  reportRecorded,
  runTaskOnce,
} from "../test-support/handler-harness.ts";
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
import { createOrderStateConsumer, createRedisOrderStatusCache, DEADLINE_TASK } from "./index.ts";

/**
 * The saga deadline, without Kafka: the payment step asked for an authorization and never got an
 * answer; the sweep (run on demand here) cancels the order with payment_timeout once the payment step
 * is older than its limit, and the compensations run through order-finalized like for any
 * cancellation. The limit counts from when the payment step started (`payments.requested_at`), never
 * from when the order was placed. Time is moved by back-dating rows, never by waiting.
 */
const { db, redis } = connectTestServices();

const LIMIT_MS = 5 * 60_000;
const processor = createSimulatedProcessor();
const statusCache = createRedisOrderStatusCache(redis);
const inventory = createInventoryConsumer({ statusCache });
const payment = createPaymentConsumer({ processor, statusCache });
const orderState = createOrderStateConsumer({ statusCache, paymentLimitMs: LIMIT_MS });
const stepsOfOrder: ConsumerDefinition[] = [inventory];
const finalizedListeners: ConsumerDefinition[] = [inventory, payment, createEmailConsumer()];

/** Delivers an event to `consumers` and everything they emit onwards, until nothing is left. */
const pump = (consumers: ConsumerDefinition[], topic: string, event: Record<string, unknown>) =>
  deliverAll(db, consumers, topic, event);

const ago = (ms: number) => new Date(Date.now() - ms);

/**
 * An order placed `placedMsAgo` (recorded, stock held) whose payment step asked for an authorization
 * `askedMsAgo` and never heard back (no payments row at all when `askedMsAgo` is undefined).
 */
const placeUnanswered = async (o: {
  placedMsAgo: number;
  askedMsAgo?: number;
  recorded?: boolean;
}): Promise<{ placed: OrderPlaced; productId: string }> => {
  const productId = await createStockedProduct(db, 5);
  const placed = orderPlacedEvent([{ productId, qty: 2 }]);
  if (o.recorded !== false) {
    await insertPendingOrder(db, placed);
    await db
      .update(orders)
      .set({ createdAt: ago(o.placedMsAgo) })
      .where(eq(orders.orderId, placed.orderId));
  }
  await writePendingRecord(redis, placed);
  await pump(stepsOfOrder, TOPICS.orderPlaced, placed);
  if (o.recorded !== false) await reportRecorded(db, placed.orderId, orderState);
  if (o.askedMsAgo !== undefined) {
    // What the payment step writes before it calls the processor (payment-steps.ts).
    await db.insert(payments).values({
      orderId: placed.orderId,
      status: "requested",
      amountCents: placed.subtotalCents,
      currency: placed.currency,
      requestedAt: ago(o.askedMsAgo),
    });
  }
  return { placed, productId };
};

const finalizedEvents = (orderId: string) => outboxFor(db, orderId, TOPICS.orderFinalized);
const emailKinds = async (orderId: string) =>
  (await db.select({ kind: emails.kind }).from(emails).where(eq(emails.orderId, orderId))).map((e) => e.kind);

describe("saga deadline", () => {
  it("cancels an order whose authorization went unanswered past the limit (payment_timeout); stock released, one email, a late authorization voided", async () => {
    const { placed, productId } = await placeUnanswered({
      placedMsAgo: LIMIT_MS + 60_000,
      askedMsAgo: LIMIT_MS + 1_000,
    });
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

    // The compensations, as for any cancellation: the hold released, the unanswered authorization
    // voided at the processor (nothing there yet), one email.
    await pump(finalizedListeners, TOPICS.orderFinalized, finalized?.payload ?? {});
    expect(await readStock(db, productId)).toEqual({ available: 5, reserved: 0 });
    expect(await readPayment(db, placed.orderId)).toMatchObject({ status: "voided", processorRef: null });
    expect(await emailKinds(placed.orderId)).toEqual(["order_cancelled"]);

    // A second pass finds nothing to do.
    await runTaskOnce(db, orderState, DEADLINE_TASK);
    expect(await finalizedEvents(placed.orderId)).toHaveLength(1);

    // The authorization request is retried (it was parked), and the processor answers at last: the
    // late authorization is recorded, the cancellation announced again, and the authorization voided.
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

  it("cancels an order whose shopper never finished the 3-D Secure step within its own limit, and cancels the payment", async () => {
    const ACTION_LIMIT_MS = 15 * 60_000;
    const waiting = async (askedMsAgo: number) => {
      const { placed } = await placeUnanswered({ placedMsAgo: 60_000 });
      await pump([payment], TOPICS.orderPlaced, { ...placed, paymentToken: THREE_D_SECURE_TOKEN });
      expect(await readPayment(db, placed.orderId)).toMatchObject({ status: "requires_action" });
      await db
        .update(payments)
        .set({ requestedAt: ago(askedMsAgo), actionRequestedAt: ago(askedMsAgo) })
        .where(eq(payments.orderId, placed.orderId));
      return placed;
    };
    // Past the payment step's limit, but within the shopper's: still waiting.
    const thinking = await waiting(LIMIT_MS + 60_000);
    const gone = await waiting(ACTION_LIMIT_MS + 1_000);
    await runTaskOnce(db, orderState, DEADLINE_TASK);
    expect(await readOrder(db, thinking.orderId)).toMatchObject({ status: "pending" });
    const [finalized] = await finalizedEvents(gone.orderId);
    expect(finalized?.payload).toMatchObject({ status: "cancelled", reason: "payment_timeout" });
    await pump(finalizedListeners, TOPICS.orderFinalized, finalized?.payload ?? {});
    expect(await readPayment(db, gone.orderId)).toMatchObject({ status: "voided" });
    expect(processor.stateOf(gone.orderId)).toBe("voided");
    expect(processor.completeAction(gone.orderId, true)).toBe(false);
  });

  it("never counts the time an order waited in a queue: placed long ago, its payment step just started or not yet", async () => {
    const started = await placeUnanswered({ placedMsAgo: 10 * LIMIT_MS, askedMsAgo: LIMIT_MS - 60_000 });
    const waiting = await placeUnanswered({ placedMsAgo: 10 * LIMIT_MS });
    await runTaskOnce(db, orderState, DEADLINE_TASK);
    for (const { placed } of [started, waiting]) {
      expect(await readOrder(db, placed.orderId)).toMatchObject({ status: "pending" });
      expect(await finalizedEvents(placed.orderId)).toEqual([]);
    }
  });

  it("waits for the other steps once the payment is answered, however late they are", async () => {
    const productId = await createStockedProduct(db, 5);
    const placed = orderPlacedEvent([{ productId, qty: 1 }]);
    await insertPendingOrder(db, placed);
    // Inventory and payment answered; the orders consumer has not recorded it yet (a lagging group).
    await pump([inventory, payment], TOPICS.orderPlaced, placed);
    await db
      .update(payments)
      .set({ requestedAt: ago(LIMIT_MS * 2) })
      .where(eq(payments.orderId, placed.orderId));
    await runTaskOnce(db, orderState, DEADLINE_TASK);
    expect(await readOrder(db, placed.orderId)).toMatchObject({ status: "pending" });
    await reportRecorded(db, placed.orderId, orderState);
    expect(await readOrder(db, placed.orderId)).toMatchObject({ status: "confirmed", reason: null });
    expect(await finalizedEvents(placed.orderId)).toHaveLength(1);
  });

  it("decides an order whose record had not landed, and the record takes the outcome when it lands", async () => {
    const { placed, productId } = await placeUnanswered({
      placedMsAgo: LIMIT_MS * 2,
      askedMsAgo: LIMIT_MS + 1_000,
      recorded: false,
    });
    await runTaskOnce(db, orderState, DEADLINE_TASK);
    const [finalized] = await finalizedEvents(placed.orderId);
    expect(finalized?.payload).toMatchObject({ status: "cancelled", reason: "payment_timeout" });
    await pump(finalizedListeners.slice(0, 2), TOPICS.orderFinalized, finalized?.payload ?? {});
    expect(await readStock(db, productId)).toEqual({ available: 5, reserved: 0 });

    // The orders step records it late: the record is written pending, and order-state moves it to the
    // outcome decided before (nothing is announced again).
    await pump([ordersConsumer, orderState], TOPICS.orderPlaced, placed);
    expect(await readOrder(db, placed.orderId)).toMatchObject({
      status: "cancelled",
      reason: "payment_timeout",
    });
    expect(await finalizedEvents(placed.orderId)).toHaveLength(1);
  });
});
