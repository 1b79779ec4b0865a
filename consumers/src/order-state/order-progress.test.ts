import { eq, inArray, sql } from "drizzle-orm";
import { afterAll, describe, expect, it } from "vitest";
import { orderProgress, orders } from "../../../db/schema/index.ts";
import { connectTestDb } from "../test-support/handler-harness.ts";
import { insertPendingOrder, orderPlacedEvent } from "../test-support/order-fixtures.ts";
import { advanceOrder, advanceOrders } from "./order-progress.ts";

const { db, pool } = connectTestDb();
afterAll(() => pool.end());

/** Resolves once a backend of this database waits for a row lock. */
const someoneWaitsForALock = async (): Promise<void> => {
  for (let i = 0; i < 200; i++) {
    const waiting = await db.execute<{ n: number }>(
      sql`select count(*)::int as n from pg_stat_activity
           where datname = current_database() and wait_event_type = 'Lock'`,
    );
    if ((waiting.rows[0]?.n ?? 0) > 0) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error("no backend ever waited for a lock");
};

describe("advanceOrder", () => {
  it("takes the orders row's lock before the progress row's, as the sweep and the admin cancel do", async () => {
    const placed = orderPlacedEvent([{ productId: "p1", qty: 1 }]);
    await insertPendingOrder(db, placed);
    const { orderId } = placed;
    await db
      .insert(orderProgress)
      .values({ orderId, steps: { inventory: "reserved", payment: "authorized" } });

    // A writer in the agreed order holds the orders row, then (once the step waits) the progress row.
    // Had the step locked the progress row first, the two would deadlock and one of them would fail.
    let releaseHolder: () => void = () => {};
    const holderDone = db.transaction(async (tx) => {
      await tx.select().from(orders).where(eq(orders.orderId, orderId)).for("update");
      await new Promise<void>((resolve) => {
        releaseHolder = resolve;
      });
      await tx.select().from(orderProgress).where(eq(orderProgress.orderId, orderId)).for("update");
      await tx.update(orders).set({ reason: null }).where(eq(orders.orderId, orderId));
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    const step = db.transaction((tx) => advanceOrder(tx, { orderId, step: "recorded", outcome: "recorded" }));
    await someoneWaitsForALock();
    releaseHolder();
    await holderDone;
    const result = await step;
    expect(result).toMatchObject({
      kind: "finalized",
      outcome: { status: "confirmed" },
      orderRowUpdated: true,
    });
    const [row] = await db.select().from(orders).where(eq(orders.orderId, orderId));
    expect(row?.status).toBe("confirmed");
  });

  it("reads the order's status in the step's own statement: a cancelled order stays cancelled", async () => {
    const placed = orderPlacedEvent([{ productId: "p1", qty: 1 }]);
    await insertPendingOrder(db, placed);
    const { orderId } = placed;
    await db
      .update(orders)
      .set({ status: "cancelled", reason: "cancelled_by_merchant" })
      .where(eq(orders.orderId, orderId));
    await db.insert(orderProgress).values({ orderId, finalizedAt: new Date() });
    const result = await db.transaction((tx) =>
      advanceOrder(tx, { orderId, step: "payment", outcome: "authorized" }),
    );
    expect(result).toMatchObject({
      kind: "already_final",
      outcome: { status: "cancelled", reason: "cancelled_by_merchant" },
      contradicts: true,
    });
  });

  it("joins the steps of many orders in one transaction, a second step of an order after its first", async () => {
    const [a, b, c] = [1, 2, 3].map(() => orderPlacedEvent([{ productId: "p1", qty: 1 }])) as [
      ReturnType<typeof orderPlacedEvent>,
      ReturnType<typeof orderPlacedEvent>,
      ReturnType<typeof orderPlacedEvent>,
    ];
    for (const placed of [a, b, c]) await insertPendingOrder(db, placed);
    const advances = await db.transaction((tx) =>
      advanceOrders(tx, [
        { orderId: a.orderId, step: "recorded", outcome: "recorded" },
        { orderId: b.orderId, step: "recorded", outcome: "recorded" },
        { orderId: a.orderId, step: "inventory", outcome: "reserved" },
        { orderId: c.orderId, step: "inventory", outcome: "reserved" },
        { orderId: b.orderId, step: "inventory", outcome: "rejected" },
        { orderId: a.orderId, step: "payment", outcome: "authorized" },
        { orderId: b.orderId, step: "payment", outcome: "authorized" },
      ]),
    );
    expect(advances.map((advance) => advance.kind)).toEqual([
      "waiting",
      "waiting",
      "waiting",
      "waiting",
      "waiting",
      "finalized",
      "finalized",
    ]);
    expect(advances[6]).toMatchObject({ outcome: { status: "cancelled", reason: "out_of_stock" } });
    const rows = await db
      .select({ orderId: orders.orderId, status: orders.status, reason: orders.reason })
      .from(orders)
      .where(inArray(orders.orderId, [a.orderId, b.orderId, c.orderId]));
    expect(Object.fromEntries(rows.map((row) => [row.orderId, [row.status, row.reason]]))).toEqual({
      [a.orderId]: ["confirmed", null],
      [b.orderId]: ["cancelled", "out_of_stock"],
      [c.orderId]: ["pending", null],
    });
    const [progress] = await db.select().from(orderProgress).where(eq(orderProgress.orderId, c.orderId));
    expect(progress).toMatchObject({ steps: { inventory: "reserved" }, finalizedAt: null });
  });
});
