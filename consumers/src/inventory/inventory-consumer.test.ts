import { randomUUID } from "node:crypto";
import { and, eq, sql } from "drizzle-orm";
import { afterAll, describe, expect, it } from "vitest";
import { inventory, stockReservations } from "../../../db/schema/index.ts";
import type { OrderFinalized } from "../../../domain/order-events.ts";
import { TOPICS } from "../../../domain/topics.ts";
import { isConflict } from "../runtime/failures.ts";
import { connectTestDb, deliver } from "../test-support/handler-harness.ts";
import {
  createStockedProduct,
  orderPlacedEvent,
  progressOf,
  readStock,
  stepsOf,
} from "../test-support/order-fixtures.ts";
import { inventoryConsumer } from "./index.ts";
import { changeHolds, reserveStock, reserveStocks, type StockOrder } from "./stock-store.ts";

const { db, pool } = connectTestDb(20);
afterAll(() => pool.end());

/** Delivers the order, answering what the step reported to the saga's join. */
const place = async (event: ReturnType<typeof orderPlacedEvent>) => {
  const delivery = await deliver(db, inventoryConsumer, TOPICS.orderPlaced, event);
  return { ...delivery, reported: (await stepsOf(db, event.orderId)).inventory };
};
const finalize = (orderId: string, status: "confirmed" | "cancelled") => {
  const base = { eventId: randomUUID(), orderId, finalizedAt: new Date().toISOString() };
  const event: OrderFinalized =
    status === "confirmed" ? { ...base, status } : { ...base, status, reason: "payment_declined" };
  return deliver(db, inventoryConsumer, TOPICS.orderFinalized, event);
};
const holdsOf = (orderId: string) =>
  db
    .select({
      productId: stockReservations.variantId,
      qty: stockReservations.qty,
      status: stockReservations.status,
    })
    .from(stockReservations)
    .where(eq(stockReservations.orderId, orderId));

describe("inventory consumer: order-placed", () => {
  it("holds stock for every line and reports reserved", async () => {
    const [a, b] = [await createStockedProduct(db, 5), await createStockedProduct(db, 3)];
    const placed = orderPlacedEvent([
      { productId: a, qty: 2 },
      { productId: b, qty: 3 },
    ]);
    expect((await place(placed)).reported).toBe("reserved");
    expect(await readStock(db, a)).toEqual({ available: 3, reserved: 2 });
    expect(await readStock(db, b)).toEqual({ available: 0, reserved: 3 });
    expect(await holdsOf(placed.orderId)).toHaveLength(2);
  });

  it("holds nothing when a single line is short (all or nothing) and reports rejected", async () => {
    const [a, b] = [await createStockedProduct(db, 5), await createStockedProduct(db, 1)];
    const placed = orderPlacedEvent([
      { productId: a, qty: 2 },
      { productId: b, qty: 2 },
    ]);
    expect((await place(placed)).reported).toBe("rejected");
    expect(await readStock(db, a)).toEqual({ available: 5, reserved: 0 });
    expect(await readStock(db, b)).toEqual({ available: 1, reserved: 0 });
    expect(await holdsOf(placed.orderId)).toEqual([]);
  });

  it("counts a product named on two lines once, with the summed quantity", async () => {
    const a = await createStockedProduct(db, 3);
    const placed = orderPlacedEvent([
      { productId: a, qty: 2 },
      { productId: a, qty: 2 },
    ]);
    expect((await place(placed)).reported).toBe("rejected");
    expect(await readStock(db, a)).toEqual({ available: 3, reserved: 0 });
  });

  it("rejects a product that has no inventory row", async () => {
    const placed = orderPlacedEvent([{ productId: "no_such_product", qty: 1 }]);
    expect((await place(placed)).reported).toBe("rejected");
  });

  it("changes nothing on a replay, with the same or a new event id", async () => {
    const a = await createStockedProduct(db, 4);
    const placed = orderPlacedEvent([{ productId: a, qty: 3 }]);
    await place(placed);
    const reported = await progressOf(db, placed.orderId);
    expect(await place(placed)).toMatchObject({ applied: false, reported: "reserved" });
    expect(await place({ ...placed, eventId: randomUUID() })).toMatchObject({
      applied: true,
      reported: "reserved",
    });
    expect(await readStock(db, a)).toEqual({ available: 1, reserved: 3 });
    // Reported once: the replays did not touch the progress record.
    expect((await progressOf(db, placed.orderId))?.updatedAt).toEqual(reported?.updatedAt);
  });

  it("sells exactly the stock when 200 orders race for 10 units, never below zero", async () => {
    const a = await createStockedProduct(db, 10);
    const orders = Array.from({ length: 200 }, () => orderPlacedEvent([{ productId: a, qty: 1 }]));
    const results = await Promise.all(orders.map((placed) => place(placed)));
    const types = results.map((r) => r.reported);
    expect(types.filter((t) => t === "reserved")).toHaveLength(10);
    expect(types.filter((t) => t === "rejected")).toHaveLength(190);
    expect(await readStock(db, a)).toEqual({ available: 0, reserved: 10 });
  });

  it("does not deadlock when orders lock overlapping products listed in different orders", async () => {
    const products = [
      await createStockedProduct(db, 1000),
      await createStockedProduct(db, 1000),
      await createStockedProduct(db, 1000),
    ];
    const orders = Array.from({ length: 60 }, (_, i) =>
      orderPlacedEvent([0, 1, 2].map((k) => ({ productId: products[(i + k) % 3] ?? "", qty: 1 })).reverse()),
    );
    const results = await Promise.all(orders.map((placed) => place(placed)));
    expect(results.every((r) => r.reported === "reserved")).toBe(true);
    for (const productId of products) {
      expect(await readStock(db, productId)).toEqual({ available: 940, reserved: 60 });
    }
  });
});

describe("inventory consumer: order-finalized", () => {
  const reserved = async (qty: number, stock = 10) => {
    const productId = await createStockedProduct(db, stock);
    const placed = orderPlacedEvent([{ productId, qty }]);
    await place(placed);
    return { productId, orderId: placed.orderId };
  };

  it("cancelled releases the holds (compensation), and twice releases once", async () => {
    const { productId, orderId } = await reserved(4);
    await finalize(orderId, "cancelled");
    await finalize(orderId, "cancelled");
    expect(await readStock(db, productId)).toEqual({ available: 10, reserved: 0 });
    expect(await holdsOf(orderId)).toEqual([{ productId, qty: 4, status: "released" }]);
  });

  it("confirmed commits the holds, and twice commits once", async () => {
    const { productId, orderId } = await reserved(4);
    await finalize(orderId, "confirmed");
    await finalize(orderId, "confirmed");
    expect(await readStock(db, productId)).toEqual({ available: 6, reserved: 0 });
    expect(await holdsOf(orderId)).toEqual([{ productId, qty: 4, status: "committed" }]);
  });

  it("release and commit are safe on an order with nothing to undo", async () => {
    const productId = await createStockedProduct(db, 1);
    const rejected = orderPlacedEvent([{ productId, qty: 2 }]);
    await place(rejected);
    for (const orderId of [rejected.orderId, "ord_never_seen"]) {
      await expect(finalize(orderId, "cancelled")).resolves.toMatchObject({ applied: true });
      await expect(finalize(orderId, "confirmed")).resolves.toMatchObject({ applied: true });
    }
    expect(await readStock(db, productId)).toEqual({ available: 1, reserved: 0 });
  });

  it("a hold moves only from held: a released order is never committed, nor the reverse", async () => {
    const first = await reserved(2);
    await finalize(first.orderId, "cancelled");
    await finalize(first.orderId, "confirmed");
    expect(await readStock(db, first.productId)).toEqual({ available: 10, reserved: 0 });

    const second = await reserved(2);
    await finalize(second.orderId, "confirmed");
    await finalize(second.orderId, "cancelled");
    expect(await readStock(db, second.productId)).toEqual({ available: 8, reserved: 0 });
    const [hold] = await db
      .select({ status: stockReservations.status })
      .from(stockReservations)
      .where(
        and(eq(stockReservations.orderId, second.orderId), eq(stockReservations.variantId, second.productId)),
      );
    expect(hold?.status).toBe("committed");
  });

  it("a merchant's cancellation of a confirmed order gives its committed units back, once", async () => {
    const { productId, orderId } = await reserved(2);
    await finalize(orderId, "confirmed");
    expect(await readStock(db, productId)).toEqual({ available: 8, reserved: 0 });
    const cancel = {
      eventId: randomUUID(),
      orderId,
      status: "cancelled" as const,
      reason: "cancelled_by_merchant" as const,
      finalizedAt: new Date().toISOString(),
    };
    await deliver(db, inventoryConsumer, TOPICS.orderFinalized, cancel);
    await deliver(db, inventoryConsumer, TOPICS.orderFinalized, { ...cancel, eventId: randomUUID() });
    expect(await readStock(db, productId)).toEqual({ available: 10, reserved: 0 });
  });

  it("counts an order's units as shipped once, also when the shipment overtakes the confirmation", async () => {
    const { productId, orderId } = await reserved(3);
    const shipped = {
      eventId: randomUUID(),
      orderId,
      shipment: { carrier: "SimPost", trackingNumber: "SP1", shippedAt: new Date().toISOString() },
    };
    await deliver(db, inventoryConsumer, TOPICS.orderShipped, shipped);
    await deliver(db, inventoryConsumer, TOPICS.orderShipped, { ...shipped, eventId: randomUUID() });
    await finalize(orderId, "confirmed");
    const [row] = await db
      .select({ available: inventory.available, reserved: inventory.reserved, shipped: inventory.shipped })
      .from(inventory)
      .where(eq(inventory.variantId, productId));
    expect(row).toEqual({ available: 7, reserved: 0, shipped: 3 });
  });

  it("concurrent releases of one order release once", async () => {
    const { productId, orderId } = await reserved(3);
    await Promise.all(Array.from({ length: 5 }, () => finalize(orderId, "cancelled")));
    expect(await readStock(db, productId)).toEqual({ available: 10, reserved: 0 });
  });
});

describe("inventory consumer: a transaction of many events", () => {
  /** One lane's transaction: two orders, of `first` then of `second`, a pause between them. */
  const lane = (first: string, second: string, lockFirst: boolean) =>
    db.transaction(async (tx) => {
      if (lockFirst)
        await inventoryConsumer.lockFirst?.(
          [first, second].map((productId) => ({
            topic: TOPICS.orderPlaced,
            event: orderPlacedEvent([{ productId, qty: 1 }]),
          })),
          tx,
        );
      await reserveStock(tx, orderPlacedEvent([]).orderId, [{ variantId: first, qty: 1 }]);
      await tx.execute(sql`select pg_sleep(0.3)`);
      await reserveStock(tx, orderPlacedEvent([]).orderId, [{ variantId: second, qty: 1 }]);
    });

  it("takes its locks first, in one order: two lanes over the same products queue instead of deadlocking", async () => {
    const [a, b] = [await createStockedProduct(db, 100), await createStockedProduct(db, 100)];
    // Without: each lane holds one row and waits for the other's; Postgres aborts one (40P01).
    const unordered = await Promise.allSettled([lane(a, b, false), lane(b, a, false)]);
    expect(unordered.filter((r) => r.status === "rejected" && isConflict(r.reason))).toHaveLength(1);
    const ordered = await Promise.allSettled([lane(a, b, true), lane(b, a, true)]);
    expect(ordered.map((r) => r.status)).toEqual(["fulfilled", "fulfilled"]);
    expect(await readStock(db, a)).toEqual({ available: 97, reserved: 3 });
  });

  it("locks the rows of the products the other events' orders hold", async () => {
    const productId = await createStockedProduct(db, 10);
    const placed = orderPlacedEvent([{ productId, qty: 1 }]);
    await place(placed);
    const finalized = { eventId: randomUUID(), orderId: placed.orderId, status: "confirmed" };
    await db.transaction(async (tx) => {
      await inventoryConsumer.lockFirst?.([{ topic: TOPICS.orderFinalized, event: finalized }], tx);
      const other = await pool.connect();
      try {
        await expect(
          other.query("select 1 from inventory where variant_id = $1 for update nowait", [productId]),
        ).rejects.toMatchObject({ code: "55P03" });
      } finally {
        other.release();
      }
    });
  });
});

describe("inventory: a transaction's orders together", () => {
  const versionOf = async (productId: string) =>
    Number(
      (
        await db
          .select({ version: inventory.version })
          .from(inventory)
          .where(eq(inventory.variantId, productId))
      )[0]?.version,
    );

  it("holds stock first come, first served, writing the product's row once for the whole batch", async () => {
    const productId = await createStockedProduct(db, 3);
    const before = await versionOf(productId);
    const order = (qty: number): StockOrder => ({
      orderId: orderPlacedEvent([]).orderId,
      lines: [{ variantId: productId, qty }],
    });
    const [a, b, c, d] = [order(2), order(2), order(1), order(1)];
    const outcomes = await db.transaction((tx) => reserveStocks(tx, [a, b, c, d, a]));
    expect(outcomes.map((o) => (o.type === "reserved" && o.alreadyHeld ? "held before" : o.type))).toEqual([
      "reserved",
      "rejected",
      "reserved",
      "rejected",
      "held before",
    ]);
    expect(await readStock(db, productId)).toEqual({ available: 0, reserved: 3 });
    expect(await versionOf(productId)).toBe(before + 1);
    // Every reserved order is told the product's level after the batch.
    expect(outcomes[0]).toMatchObject({
      levels: [{ variantId: productId, available: 0, version: before + 1 }],
    });
    expect(await holdsOf(a.orderId)).toEqual([{ productId, qty: 2, status: "held" }]);
    expect(await holdsOf(b.orderId)).toEqual([]);

    // One order sold, the other released, in one statement: the row is written once for both.
    const levels = await db.transaction((tx) =>
      changeHolds(tx, [
        { orderId: a.orderId, change: "commit" },
        { orderId: c.orderId, change: "release" },
        { orderId: b.orderId, change: "release" },
      ]),
    );
    expect(await readStock(db, productId)).toEqual({ available: 1, reserved: 0 });
    expect(levels.get(a.orderId)).toEqual([{ variantId: productId, available: 1, version: before + 2 }]);
    expect(levels.get(c.orderId)).toEqual([{ variantId: productId, available: 1, version: before + 2 }]);
    expect(levels.has(b.orderId)).toBe(false);
    expect(await holdsOf(a.orderId)).toEqual([{ productId, qty: 2, status: "committed" }]);
    expect(await holdsOf(c.orderId)).toEqual([{ productId, qty: 1, status: "released" }]);
  });
});
