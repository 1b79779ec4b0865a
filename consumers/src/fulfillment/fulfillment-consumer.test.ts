import { randomUUID } from "node:crypto";
import { and, eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { cancelByMerchant } from "../../../db/order-writes.ts";
import { emails, inventory } from "../../../db/schema/index.ts";
import type { OrderPlaced } from "../../../domain/events.ts";
import { orderStatusKey } from "../../../domain/orders.ts";
import { TOPICS } from "../../../domain/topics.ts";
import { createEmailConsumer } from "../email/index.ts";
import { createInventoryConsumer } from "../inventory/index.ts";
import { createOrderStateConsumer, createRedisOrderStatusCache, loadOrder } from "../order-state/index.ts";
import {
  createPaymentConsumer,
  createSimulatedProcessor,
  type PaymentProcessor,
  PaymentProcessorUnavailableError,
} from "../payment/index.ts";
import type { ConsumerDefinition } from "../runtime/types.ts";
import {
  connectTestServices,
  deliver,
  deliverAll,
  forward,
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
  writePendingRecord,
} from "../test-support/order-fixtures.ts";
import {
  createFulfillmentConsumer,
  createSimulatedWarehouse,
  type FulfillmentProvider,
  TRACKING_TASK,
  trackingNumberOf,
} from "./index.ts";

/**
 * Fulfillment after the saga, without Kafka: each order goes through inventory, payment, order-state,
 * email and fulfillment (deliverAll), the warehouse is the simulated one on a clock the test moves,
 * and the tracking task runs one pass at a time.
 */
const { db, redis } = connectTestServices();
const statusCache = createRedisOrderStatusCache(redis);
const SHIP_DELAY_MS = 60_000;

const setup = (
  options: {
    failureRate?: number;
    processor?: PaymentProcessor;
    /** What the fulfillment consumer talks to instead of the simulated warehouse itself. */
    provider?: (warehouse: FulfillmentProvider) => FulfillmentProvider;
  } = {},
) => {
  let now = Date.now();
  const warehouse = createSimulatedWarehouse({
    shipDelayMs: SHIP_DELAY_MS,
    now: () => now,
    failureRate: options.failureRate ?? 0,
  });
  const processor = createSimulatedProcessor();
  const provider = options.provider ? options.provider(warehouse) : warehouse;
  const fulfillment = createFulfillmentConsumer({ provider, statusCache });
  const home = createOrderStateConsumer({ statusCache });
  const consumers: ConsumerDefinition[] = [
    createInventoryConsumer({ statusCache }),
    createPaymentConsumer({ processor: options.processor ?? processor, statusCache }),
    createEmailConsumer(),
    fulfillment,
  ];
  const pump = (topic: string, event: unknown) => deliverAll(db, consumers, topic, event);
  /** The orders consumer's report that the order is in Postgres, and what the join decides on it. */
  const recorded = async (orderId: string) =>
    forward(db, consumers, (await reportRecorded(db, orderId, home)).emitted);
  return {
    recorded,
    warehouse,
    processor,
    fulfillment,
    pump,
    later: (ms: number) => {
      now += ms;
    },
    /** Runs tracking passes (a failing warehouse call is retried by the next pass) until none is left. */
    track: async (passes = 1) => {
      for (let i = 0; i < passes; i++) await runTaskOnce(db, fulfillment, TRACKING_TASK);
    },
    /** Hands the shipment events in the outbox to the consumers, as the relay and Kafka would. */
    deliverShipments: async (orderId: string) => {
      for (const shipped of await outboxFor(db, orderId, TOPICS.orderShipped)) {
        await pump(TOPICS.orderShipped, shipped.payload);
      }
    },
    checkout: async (placed: OrderPlaced) => {
      await insertPendingOrder(db, placed);
      await writePendingRecord(redis, placed);
      await pump(TOPICS.orderPlaced, placed);
      await recorded(placed.orderId);
    },
  };
};

const stockOf = async (productId: string) => {
  const [row] = await db
    .select({ available: inventory.available, reserved: inventory.reserved, shipped: inventory.shipped })
    .from(inventory)
    .where(eq(inventory.variantId, productId));
  return row;
};
const emailKinds = async (orderId: string) =>
  (await db.select({ kind: emails.kind }).from(emails).where(eq(emails.orderId, orderId)))
    .map((e) => e.kind)
    .sort();
const redisStatus = async (orderId: string): Promise<unknown> =>
  JSON.parse((await redis.get(orderStatusKey(orderId))) ?? "null");

/** The order as GET /v1/orders/:id answers it from Postgres, as JSON. */
const postgresView = async (orderId: string): Promise<unknown> =>
  JSON.parse(JSON.stringify(await loadOrder(db, orderId)));

const merchantCancel = async (orderId: string): Promise<boolean> => {
  const event = {
    eventId: randomUUID(),
    orderId,
    status: "cancelled",
    reason: "cancelled_by_merchant",
    finalizedAt: new Date().toISOString(),
  } as const;
  const result = await db.execute(cancelByMerchant(orderId, event));
  return result.rows.length > 0;
};
/** The merchant's cancellation events in the outbox, handed to the consumers. */
const deliverCancellation = async (
  pump: (topic: string, event: unknown) => Promise<void>,
  orderId: string,
) => {
  const events = await outboxFor(db, orderId, TOPICS.orderFinalized);
  const cancellation = events.filter((e) => e.payload.reason === "cancelled_by_merchant");
  for (const event of cancellation) await pump(TOPICS.orderFinalized, event.payload);
};

describe("fulfillment consumer", () => {
  it("takes a confirmed order to the warehouse and records its shipment once: stock shipped, one shipping email", async () => {
    const f = setup();
    const productId = await createStockedProduct(db, 5);
    const placed = orderPlacedEvent([{ productId, qty: 2 }]);
    await f.checkout(placed);
    expect(await readOrder(db, placed.orderId)).toMatchObject({ status: "fulfilling" });
    // Written from what the statement wrote, the record is what Postgres answers for the order.
    expect(await redisStatus(placed.orderId)).toEqual(await postgresView(placed.orderId));
    expect(await redisStatus(placed.orderId)).toMatchObject({ status: "fulfilling" });
    expect(f.warehouse.fulfillmentsOf(placed.orderId)).toBe(1);

    await f.track();
    expect(await readOrder(db, placed.orderId)).toMatchObject({ status: "fulfilling" });
    f.later(SHIP_DELAY_MS);
    await f.track();
    const row = await readOrder(db, placed.orderId);
    expect(row).toMatchObject({
      status: "shipped",
      carrier: "SimPost",
      trackingNumber: trackingNumberOf(placed.orderId),
    });
    expect(await redisStatus(placed.orderId)).toMatchObject({
      status: "shipped",
      shipment: { carrier: "SimPost", trackingNumber: trackingNumberOf(placed.orderId) },
    });
    expect(await redisStatus(placed.orderId)).toEqual(await postgresView(placed.orderId));
    await f.deliverShipments(placed.orderId);
    expect(await stockOf(productId)).toEqual({ available: 3, reserved: 0, shipped: 2 });
    expect(await emailKinds(placed.orderId)).toEqual(["order_confirmed", "order_shipped"]);
    const [shippingEmail] = await db
      .select()
      .from(emails)
      .where(and(eq(emails.orderId, placed.orderId), eq(emails.kind, "order_shipped")));
    expect(shippingEmail?.body).toContain(trackingNumberOf(placed.orderId));
    expect(await readPayment(db, placed.orderId)).toMatchObject({ status: "captured" });
  });

  it("requests an order at the warehouse only once its payment is captured", async () => {
    const simulator = createSimulatedProcessor();
    let capturing = false;
    const processor: PaymentProcessor = {
      ...simulator,
      capture: async (payment) => {
        if (!capturing) throw new PaymentProcessorUnavailableError("the processor does not answer captures");
        await simulator.capture(payment);
      },
    };
    const f = setup({ processor });
    const productId = await createStockedProduct(db, 5);
    const placed = orderPlacedEvent([{ productId, qty: 1 }]);
    // The capture fails (the runner would retry it); fulfillment gets the confirmation meanwhile.
    await expect(f.checkout(placed)).rejects.toBeInstanceOf(PaymentProcessorUnavailableError);
    const [finalized] = await outboxFor(db, placed.orderId, TOPICS.orderFinalized);
    expect(finalized?.payload).toMatchObject({ status: "confirmed" });
    await deliver(db, f.fulfillment, TOPICS.orderFinalized, finalized?.payload);
    await f.track(2);
    expect(await readOrder(db, placed.orderId)).toMatchObject({ status: "confirmed" });
    expect(await readPayment(db, placed.orderId)).toMatchObject({ status: "authorized" });
    expect(f.warehouse.fulfillmentsOf(placed.orderId)).toBe(0);

    capturing = true;
    await f.pump(TOPICS.orderFinalized, finalized?.payload);
    expect(await readPayment(db, placed.orderId)).toMatchObject({ status: "captured" });
    await f.track();
    expect(await readOrder(db, placed.orderId)).toMatchObject({ status: "fulfilling" });
    expect(await redisStatus(placed.orderId)).toMatchObject({ status: "fulfilling" });
    expect(f.warehouse.fulfillmentsOf(placed.orderId)).toBe(1);
  });

  it("changes nothing when every event is delivered again, with the same or new event ids", async () => {
    const f = setup();
    const productId = await createStockedProduct(db, 5);
    const placed = orderPlacedEvent([{ productId, qty: 1 }]);
    await f.checkout(placed);
    f.later(SHIP_DELAY_MS);
    await f.track();
    await f.deliverShipments(placed.orderId);
    const outboxBefore = await outboxFor(db, placed.orderId);
    for (const event of outboxBefore) {
      if (event.topic !== TOPICS.orderFinalized && event.topic !== TOPICS.orderShipped) continue;
      await f.pump(event.topic, event.payload);
      await f.pump(event.topic, { ...event.payload, eventId: randomUUID() });
    }
    await f.track(2);
    expect(await outboxFor(db, placed.orderId)).toEqual(outboxBefore);
    expect(await outboxFor(db, placed.orderId, TOPICS.orderShipped)).toHaveLength(1);
    expect(f.warehouse.fulfillmentsOf(placed.orderId)).toBe(1);
    expect(await stockOf(productId)).toEqual({ available: 4, reserved: 0, shipped: 1 });
    expect(await emailKinds(placed.orderId)).toEqual(["order_confirmed", "order_shipped"]);
    expect(await readOrder(db, placed.orderId)).toMatchObject({ status: "shipped" });
  });

  it("ships every order exactly once while the warehouse fails half its calls", async () => {
    const f = setup({ failureRate: 0.5 });
    const productId = await createStockedProduct(db, 20);
    const orders = Array.from({ length: 8 }, () => orderPlacedEvent([{ productId, qty: 1 }]));
    for (const placed of orders) {
      // A failed warehouse request fails the event, which the runner retries.
      for (let attempt = 1; ; attempt++) {
        try {
          if (attempt === 1) await f.checkout(placed);
          else
            await f.pump(
              TOPICS.orderFinalized,
              (await outboxFor(db, placed.orderId, TOPICS.orderFinalized))[0]?.payload,
            );
          break;
        } catch (error) {
          expect(error).toMatchObject({ transient: true });
          if (attempt > 30) throw error;
        }
      }
    }
    f.later(SHIP_DELAY_MS);
    for (let pass = 0; pass < 30; pass++) await f.track();
    for (const placed of orders) {
      expect(await readOrder(db, placed.orderId)).toMatchObject({ status: "shipped" });
      expect(await outboxFor(db, placed.orderId, TOPICS.orderShipped)).toHaveLength(1);
      expect(f.warehouse.fulfillmentsOf(placed.orderId)).toBe(1);
      await f.deliverShipments(placed.orderId);
    }
    expect(await stockOf(productId)).toEqual({ available: 12, reserved: 0, shipped: 8 });
  });

  it("records the other shipments when the warehouse answers one it cannot record", async () => {
    const productId = await createStockedProduct(db, 5);
    const orders = Array.from({ length: 3 }, () => orderPlacedEvent([{ productId, qty: 1 }]));
    const [good, refused, unusable] = orders.map((o) => o.orderId);
    const f = setup({
      provider: (warehouse) => ({
        ...warehouse,
        status: async (orderId) => {
          const status = await warehouse.status(orderId);
          if (status.state !== "shipped") return status;
          // Postgres refuses a NUL; the shipment's schema refuses a tracking number this long.
          if (orderId === refused)
            return { ...status, shipment: { ...status.shipment, trackingNumber: "1Z\u0000" } };
          if (orderId === unusable)
            return { ...status, shipment: { ...status.shipment, trackingNumber: "9".repeat(200) } };
          return status;
        },
      }),
    });
    for (const placed of orders) await f.checkout(placed);
    f.later(SHIP_DELAY_MS);
    await f.track();
    expect(await readOrder(db, good ?? "")).toMatchObject({ status: "shipped" });
    expect(await readOrder(db, refused ?? "")).toMatchObject({ status: "fulfilling" });
    expect(await readOrder(db, unusable ?? "")).toMatchObject({ status: "fulfilling" });
    expect(await outboxFor(db, good ?? "", TOPICS.orderShipped)).toHaveLength(1);
    expect(await outboxFor(db, refused ?? "", TOPICS.orderShipped)).toHaveLength(0);
  });

  it("a merchant's cancellation before shipping: stock back, payment refunded, warehouse told, one email", async () => {
    const f = setup();
    const productId = await createStockedProduct(db, 5);
    const placed = orderPlacedEvent([{ productId, qty: 2 }]);
    await f.checkout(placed);
    expect(await readPayment(db, placed.orderId)).toMatchObject({ status: "captured" });
    expect(await merchantCancel(placed.orderId)).toBe(true);
    await deliverCancellation(f.pump, placed.orderId);
    await deliverCancellation(f.pump, placed.orderId); // a second delivery changes nothing
    expect(await readOrder(db, placed.orderId)).toMatchObject({
      status: "cancelled",
      reason: "cancelled_by_merchant",
    });
    expect(await stockOf(productId)).toEqual({ available: 5, reserved: 0, shipped: 0 });
    expect(await readPayment(db, placed.orderId)).toMatchObject({ status: "refunded" });
    expect(f.processor.stateOf(placed.orderId)).toBe("refunded");
    expect(await emailKinds(placed.orderId)).toEqual(["order_cancelled", "order_confirmed"]);
    expect(await redisStatus(placed.orderId)).toMatchObject({
      status: "cancelled",
      reason: "cancelled_by_merchant",
    });
    // The warehouse was told: it never ships, and tracking never records a shipment.
    f.later(SHIP_DELAY_MS);
    await f.track();
    expect(await f.warehouse.status(placed.orderId)).toEqual({ state: "cancelled" });
    expect(await outboxFor(db, placed.orderId, TOPICS.orderShipped)).toHaveLength(0);
    // Cancelling again changes nothing.
    expect(await merchantCancel(placed.orderId)).toBe(false);
  });

  it("a merchant's cancellation of a pending order: never confirmed, late steps compensated, never at the warehouse", async () => {
    const f = setup();
    const productId = await createStockedProduct(db, 5);
    const placed = orderPlacedEvent([{ productId, qty: 2 }]);
    await insertPendingOrder(db, placed);
    expect(await merchantCancel(placed.orderId)).toBe(true);
    await deliverCancellation(f.pump, placed.orderId);
    // The saga's steps arrive after the cancellation: the hold and the authorization are undone.
    await f.pump(TOPICS.orderPlaced, placed);
    await f.recorded(placed.orderId);
    expect(await readOrder(db, placed.orderId)).toMatchObject({
      status: "cancelled",
      reason: "cancelled_by_merchant",
    });
    expect(await stockOf(productId)).toEqual({ available: 5, reserved: 0, shipped: 0 });
    expect(await readPayment(db, placed.orderId)).toMatchObject({ status: "voided" });
    expect(await emailKinds(placed.orderId)).toEqual(["order_cancelled"]);
    expect(f.warehouse.fulfillmentsOf(placed.orderId)).toBe(0);
  });

  it("after shipping, a merchant's cancellation changes nothing", async () => {
    const f = setup();
    const productId = await createStockedProduct(db, 5);
    const placed = orderPlacedEvent([{ productId, qty: 1 }]);
    await f.checkout(placed);
    f.later(SHIP_DELAY_MS);
    await f.track();
    expect(await merchantCancel(placed.orderId)).toBe(false);
    expect(await readOrder(db, placed.orderId)).toMatchObject({ status: "shipped", reason: null });
  });
});
