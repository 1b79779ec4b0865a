import { env } from "cloudflare:test";
import { and, eq, sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { orderLines, orderProgress, orders, outbox } from "../../../../db/schema/index.ts";
import type { OrderStatus } from "../../../../domain/order-events.ts";
import { type Order, orderStatusKey } from "../../../../domain/orders.ts";
import { TOPICS } from "../../../../domain/topics.ts";
import { dbClient, redisClient } from "../../../platform/clients.ts";
import { admin, call, expectError, json } from "../test-support.ts";

interface Page {
  items: Order[];
  nextCursor: string | null;
}

const SHIPMENT = { carrier: "SimPost", trackingNumber: "SPADMINTEST", shippedAt: "2026-11-30T10:00:00.000Z" };

/**
 * Orders as the pipeline records them, created "in the future" (a century ahead, later on every run)
 * so that they come first in the newest-first list, however many orders other tests left.
 */
const insertOrders = async (statuses: readonly OrderStatus[]): Promise<string[]> => {
  const db = dbClient(env);
  const ids = statuses.map((_, i) => `ord_admin_${i}_${crypto.randomUUID().slice(0, 8)}`);
  await db.insert(orders).values(
    ids.map((orderId, i) => {
      const status = statuses[i] ?? "pending";
      return {
        orderId,
        cartId: "cart_for_admin_orders_test",
        email: "admin-list@example.com",
        status,
        reason: status === "cancelled" ? ("out_of_stock" as const) : null,
        subtotalCents: 1000,
        currency: "USD" as const,
        shippingAddress: { name: "A", line1: "1", city: "C", postalCode: "P", country: "US" },
        placedAt: new Date(),
        createdAt: sql`now() + interval '100 years' + ${i} * interval '1 millisecond'`,
        ...(status === "shipped"
          ? {
              carrier: SHIPMENT.carrier,
              trackingNumber: SHIPMENT.trackingNumber,
              shippedAt: new Date(SHIPMENT.shippedAt),
            }
          : {}),
      };
    }),
  );
  await db.insert(orderLines).values(
    ids.map((orderId) => ({
      orderId,
      productId: "prod_0000001",
      variantId: "prod_0000001",
      sku: "SKU-0000001",
      name: "Mug",
      qty: 1,
      unitPriceCents: 1000,
      lineTotalCents: 1000,
    })),
  );
  return ids;
};

const cancel = (orderId: string) => call(`/v1/admin/orders/${orderId}/cancel`, admin("POST"));

describe("admin orders", () => {
  it("answers 401 without the admin token", async () => {
    await expectError(await call("/v1/admin/orders"), 401, "unauthorized");
    await expectError(await call("/v1/admin/orders/ord_x/cancel", { method: "POST" }), 401, "unauthorized");
  });

  it("lists orders newest first, by status, in keyset pages, with the shipment of shipped ones", async () => {
    const ids = await insertOrders(["shipped", "confirmed", "shipped", "shipped"]);
    const shipped = [ids[3], ids[2], ids[0]];
    const first = await json<Page>(await call("/v1/admin/orders?status=shipped&limit=2", admin("GET")));
    expect(first.items.map((o) => o.orderId)).toEqual(shipped.slice(0, 2));
    expect(first.items[0]).toMatchObject({ status: "shipped", shipment: SHIPMENT });
    const second = await json<Page>(
      await call(`/v1/admin/orders?status=shipped&limit=2&cursor=${first.nextCursor}`, admin("GET")),
    );
    expect(second.items[0]?.orderId).toBe(shipped[2]);
    const all = await json<Page>(await call("/v1/admin/orders?limit=4", admin("GET")));
    expect(all.items.map((o) => o.orderId)).toEqual([...ids].reverse());
  });

  it("answers 400 for an unknown status or a cursor it did not issue", async () => {
    await expectError(await call("/v1/admin/orders?status=lost", admin("GET")), 400, "invalid_request");
    await expectError(await call("/v1/admin/orders?cursor=nope", admin("GET")), 400, "invalid_request");
    await expectError(await call("/v1/admin/orders?limit=0", admin("GET")), 400, "invalid_request");
  });

  it("cancels an order not shipped yet once: the row, the saga's progress and order-finalized in the outbox", async () => {
    const [orderId = ""] = await insertOrders(["fulfilling"]);
    const redis = redisClient(env, { raw: true });
    await redis.set(orderStatusKey(orderId), JSON.stringify({ orderId, status: "fulfilling" }));
    const res = await cancel(orderId);
    expect(res.status).toBe(200);
    expect(await json<Order>(res)).toMatchObject({
      orderId,
      status: "cancelled",
      reason: "cancelled_by_merchant",
    });
    expect(await redis.get(orderStatusKey(orderId))).toBeNull();
    // Again: the same answer, and nothing more announced.
    expect(await json<Order>(await cancel(orderId))).toMatchObject({ status: "cancelled" });
    const db = dbClient(env);
    const events = await db
      .select({ payload: outbox.payload })
      .from(outbox)
      // On the run's topics, like every event of the run.
      .where(
        and(
          eq(outbox.key, orderId),
          eq(outbox.topic, `${env.KAFKA_TOPIC_PREFIX ?? ""}${TOPICS.orderFinalized}`),
        ),
      );
    expect(events).toHaveLength(1);
    expect(events[0]?.payload).toMatchObject({
      orderId,
      status: "cancelled",
      reason: "cancelled_by_merchant",
    });
    const [progress] = await db.select().from(orderProgress).where(eq(orderProgress.orderId, orderId));
    expect(progress?.finalizedAt).toBeInstanceOf(Date);
  });

  it("answers 409 order_already_shipped for a shipped order and changes nothing; 404 for an unknown one", async () => {
    const [orderId = ""] = await insertOrders(["shipped"]);
    const refused = await expectError(await cancel(orderId), 409, "order_already_shipped");
    expect(refused.error.details).toEqual({ shipment: SHIPMENT });
    const [row] = await dbClient(env).select().from(orders).where(eq(orders.orderId, orderId));
    expect(row).toMatchObject({ status: "shipped", reason: null });
    await expectError(await cancel("ord_never_placed"), 404, "order_not_found");
    await expectError(await cancel("bad id!"), 400, "invalid_request");
  });
});
