import { eq, sql } from "drizzle-orm";
import { afterAll, describe, expect, it } from "vitest";
import { orderProgress, orders } from "../../../db/schema/index.ts";
import { connectTestDb } from "../test-support/handler-harness.ts";
import { insertPendingOrder, orderPlacedEvent } from "../test-support/order-fixtures.ts";
import { advanceOrder } from "./order-progress.ts";

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
});
