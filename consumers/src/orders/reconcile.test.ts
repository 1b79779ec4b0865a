import { Redis } from "ioredis";
import { afterAll, describe, expect, inject, it } from "vitest";
import { ACKED_ORDERS_KEY, ackedOrderKey } from "../../../domain/orders.ts";
import { TOPICS } from "../../../domain/topics.ts";
import { connectTestDb, runTaskOnce } from "../test-support/handler-harness.ts";
import { insertPendingOrder, orderPlacedEvent, outboxFor } from "../test-support/order-fixtures.ts";
import { createOrdersConsumer, createRedisAckedOrders, RECONCILE_TASK } from "./index.ts";

/**
 * Reconciliation of acknowledged orders against the real Postgres and Redis (a logical database of
 * its own, so no other file's acknowledged orders are in it), the clock moved by hand.
 */
const { db, pool } = connectTestDb(2);
const url = new URL(inject("stack").redisUrl);
url.pathname = "/5";
const redis = new Redis(url.toString());
afterAll(async () => {
  await redis.flushdb();
  redis.disconnect();
  await pool.end();
});

const AFTER_MS = 60_000;
let clock = Date.now();
const acked = createRedisAckedOrders(redis);
const orders = createOrdersConsumer({
  reconcile: { acked, afterMs: AFTER_MS, intervalMs: 1_000, maxRepublish: 2, now: () => clock },
});
const reconcile = () => runTaskOnce(db, orders, RECONCILE_TASK);

/** What checkout's COMPLETE script writes when Kafka acknowledged the order, `ageMs` ago. */
const acknowledge = async (placed: ReturnType<typeof orderPlacedEvent>, ageMs: number) => {
  await redis.zadd(ACKED_ORDERS_KEY, clock - ageMs, placed.orderId);
  await redis.hset(ackedOrderKey(placed.orderId), "p", JSON.stringify(placed));
};

describe("acknowledged orders", () => {
  it("forgets an order once it is in Postgres, and leaves recent ones alone", async () => {
    const recorded = orderPlacedEvent([{ productId: "p1", qty: 1 }]);
    await insertPendingOrder(db, recorded);
    await acknowledge(recorded, AFTER_MS + 1_000);
    const recent = orderPlacedEvent([{ productId: "p1", qty: 1 }]);
    await acknowledge(recent, 1_000);
    await reconcile();
    expect(await redis.zscore(ACKED_ORDERS_KEY, recorded.orderId)).toBeNull();
    expect(await redis.exists(ackedOrderKey(recorded.orderId))).toBe(0);
    expect(await redis.zscore(ACKED_ORDERS_KEY, recent.orderId)).not.toBeNull();
    expect(await outboxFor(db, recent.orderId)).toEqual([]);
    expect(await acked.countOverdue(clock - AFTER_MS)).toBe(0);
    await acked.forget([recent.orderId]);
  });

  it("publishes a lost order again, spaced out, a few times at most, and counts it as unrecorded", async () => {
    const lost = orderPlacedEvent([{ productId: "p1", qty: 2 }]);
    await acknowledge(lost, AFTER_MS + 1_000);
    await reconcile();
    const republished = await outboxFor(db, lost.orderId, TOPICS.orderPlaced);
    expect(republished.map((e) => e.payload)).toEqual([{ ...lost }]);
    expect(await acked.countOverdue(clock - AFTER_MS)).toBe(1);

    // Not again before AFTER_MS has passed; again after; then no more than maxRepublish.
    await reconcile();
    expect(await outboxFor(db, lost.orderId, TOPICS.orderPlaced)).toHaveLength(1);
    for (const expected of [2, 2, 2]) {
      clock += AFTER_MS;
      await reconcile();
      expect(await outboxFor(db, lost.orderId, TOPICS.orderPlaced)).toHaveLength(expected);
    }
    expect(await acked.countOverdue(clock - AFTER_MS)).toBe(1);

    // Once it is recorded, it is forgotten.
    await insertPendingOrder(db, lost);
    await reconcile();
    expect(await acked.countOverdue(clock - AFTER_MS)).toBe(0);
  });
});
