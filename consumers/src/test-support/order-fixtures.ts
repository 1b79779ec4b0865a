import { and, asc, eq } from "drizzle-orm";
import type { Redis } from "ioredis";
import type { Db } from "../../../db/node-client.ts";
import { recordPlacedOrder } from "../../../db/order-writes.ts";
import {
  inventory,
  orderProgress,
  orders,
  outbox,
  payments,
  products,
  productVariants,
} from "../../../db/schema/index.ts";
import type { OrderPlaced } from "../../../domain/events.ts";
import { ORDER_STATUS_TTL_SECONDS, orderStatusKey, pendingOrder } from "../../../domain/orders.ts";
import { totalLines } from "../../../domain/pricing.ts";
import { type EmittedEvent, newEventId, uniqueId } from "./handler-harness.ts";

/**
 * Fixtures for the order-pipeline consumer tests: products with stock, `order-placed` events, the
 * pending order row the orders consumer would write, and what a test reads back.
 */

/** Creates a product of its own (unique id) with `available` units in stock. */
export const createStockedProduct = async (db: Db, available: number, priceCents = 1250): Promise<string> => {
  const id = uniqueId("tp");
  await db.insert(products).values({
    id,
    sku: id,
    name: `Test product ${id}`,
    priceCents,
    currency: "USD",
    category: "kitchen",
  });
  await db.insert(productVariants).values({ id, productId: id, sku: id, priceCents });
  await db.insert(inventory).values({ variantId: id, available, reserved: 0 });
  return id;
};

export const readStock = async (
  db: Db,
  productId: string,
): Promise<{ available: number; reserved: number }> => {
  const [row] = await db
    .select({ available: inventory.available, reserved: inventory.reserved })
    .from(inventory)
    .where(eq(inventory.variantId, productId));
  if (!row) throw new Error(`no inventory for ${productId}`);
  return row;
};

export interface TestLine {
  productId: string;
  qty: number;
  unitPriceCents?: number;
}

/** An `order-placed` event with a unique order id. */
export const orderPlacedEvent = (
  lines: readonly TestLine[],
  overrides: Partial<Pick<OrderPlaced, "orderId" | "paymentToken" | "email">> = {},
): OrderPlaced => {
  const items = lines.map((line) => ({
    productId: line.productId,
    sku: line.productId,
    name: `Test product ${line.productId}`,
    qty: line.qty,
    unitPriceCents: line.unitPriceCents ?? 1250,
  }));
  return {
    eventId: newEventId(),
    orderId: overrides.orderId ?? uniqueId("ord"),
    cartId: uniqueId("cart"),
    email: overrides.email ?? "buyer@example.com",
    items,
    subtotalCents: totalLines(items).subtotalCents,
    currency: "USD",
    paymentToken: overrides.paymentToken ?? "tok_visa",
    shippingAddress: {
      name: "Ada Buyer",
      line1: "1 Test Street",
      city: "Testville",
      postalCode: "12345",
      country: "US",
    },
    placedAt: new Date().toISOString(),
  };
};

/** Writes the pending order as the orders consumer does before it emits `order-recorded`. */
export const insertPendingOrder = async (db: Db, placed: OrderPlaced): Promise<void> => {
  await db.execute(recordPlacedOrder(placed));
};

/** The saga's progress record of the order (what the steps reported to the join), if any. */
export const progressOf = async (db: Db, orderId: string) => {
  const [row] = await db.select().from(orderProgress).where(eq(orderProgress.orderId, orderId));
  return row;
};

/** What each step reported to the saga's join for the order. */
export const stepsOf = async (db: Db, orderId: string): Promise<Record<string, string>> =>
  (await progressOf(db, orderId))?.steps ?? {};

/** The events written to the outbox for one order (the key), oldest first, optionally of one topic. */
export const outboxFor = async (db: Db, orderId: string, topic?: string): Promise<EmittedEvent[]> => {
  const rows = await db
    .select()
    .from(outbox)
    .where(topic ? and(eq(outbox.key, orderId), eq(outbox.topic, topic)) : eq(outbox.key, orderId))
    .orderBy(asc(outbox.id));
  return rows.map((row) => ({
    topic: row.topic,
    key: row.key,
    payload: { ...row.payload, eventId: String(row.payload.eventId) },
  }));
};

export const readOrder = async (db: Db, orderId: string) => {
  const [row] = await db.select().from(orders).where(eq(orders.orderId, orderId));
  return row;
};

export const readPayment = async (db: Db, orderId: string) => {
  const [row] = await db.select().from(payments).where(eq(payments.orderId, orderId));
  return row;
};

/**
 * What checkout writes beside publishing the order: the pending order (`pendingOrder`) as its status
 * record in Redis, under `orderStatusKey`.
 */
export const writePendingRecord = async (redis: Redis, placed: OrderPlaced): Promise<void> => {
  await redis.set(
    orderStatusKey(placed.orderId),
    JSON.stringify(pendingOrder(placed)),
    "EX",
    ORDER_STATUS_TTL_SECONDS,
  );
};
