import { readdir, readFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { eq, inArray } from "drizzle-orm";
import { afterAll, describe, expect, inject, it } from "vitest";
import { orderPlacedEvent } from "../consumers/src/test-support/order-fixtures.ts";
import type { OrderStatus } from "../domain/order-events.ts";
import { createNodeDb } from "./node-client.ts";
import {
  cancelByMerchant,
  decideOrders,
  markFulfilling,
  markShipped,
  ORDER_TRANSITIONS,
  recordPlacedOrder,
  recordPlacedOrders,
} from "./order-writes.ts";
import { orderLines, orders } from "./schema/index.ts";

const { db, pool } = createNodeDb(inject("stack").databaseUrl, { max: 2 });
afterAll(() => pool.end());

const root = join(import.meta.dirname, "..");
const SKIPPED = new Set(["node_modules", ".git", ".local", ".cache", "migrations"]);

const sourceFiles = async (dir: string): Promise<string[]> => {
  const entries = await readdir(dir, { withFileTypes: true });
  const nested = await Promise.all(
    entries
      .filter((entry) => !SKIPPED.has(entry.name))
      .map((entry) => {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) return sourceFiles(path);
        return Promise.resolve(entry.name.endsWith(".ts") && !entry.name.endsWith(".test.ts") ? [path] : []);
      }),
  );
  return nested.flat();
};

/** Every way a file writes the orders table: drizzle's builders, or SQL naming the table. */
const WRITES_ORDERS =
  /\.(insert|update|delete)\(orders\)|(insert\s+into|update|delete\s+from)\s+(\$\{orders\}|"?orders"?\s)/i;

const shipment = { carrier: "UPS", trackingNumber: "1Z999", shippedAt: new Date().toISOString() };

/** A recorded order moved through `path`, answering whether each move changed it. */
const moves = async (path: readonly ("decide" | "cancel" | "fulfil" | "ship")[]) => {
  const placed = orderPlacedEvent([{ productId: "p1", qty: 2 }]);
  const recorded = (await db.execute(recordPlacedOrder(placed))).rows.length;
  const changed: number[] = [];
  for (const move of path) {
    const statement = {
      decide: () => decideOrders([{ orderId: placed.orderId, outcome: { status: "confirmed" } }], new Date()),
      cancel: () =>
        cancelByMerchant(placed.orderId, {
          eventId: crypto.randomUUID(),
          orderId: placed.orderId,
          status: "cancelled",
          reason: "cancelled_by_merchant",
          finalizedAt: new Date().toISOString(),
        }),
      fulfil: () => markFulfilling([placed.orderId]),
      ship: () => markShipped([{ orderId: placed.orderId, shipment }]),
    }[move]();
    changed.push((await db.execute(statement)).rows.length);
  }
  const [row] = await db.select().from(orders).where(eq(orders.orderId, placed.orderId));
  return { placed, recorded, changed, status: row?.status as OrderStatus };
};

describe("db/order-writes.ts", () => {
  it("is the only code that writes the orders table", async () => {
    const writers: string[] = [];
    for (const file of await sourceFiles(root)) {
      if (WRITES_ORDERS.test(await readFile(file, "utf8"))) writers.push(relative(root, file));
    }
    expect(writers).toEqual(["db/order-writes.ts"]);
  });

  it("records a placed order and its lines once", async () => {
    const placed = orderPlacedEvent([
      { productId: "p1", qty: 2 },
      { productId: "p2", qty: 1 },
    ]);
    expect((await db.execute(recordPlacedOrder(placed))).rows).toHaveLength(1);
    expect((await db.execute(recordPlacedOrder(placed))).rows).toHaveLength(0);
    const lines = await db.select().from(orderLines).where(eq(orderLines.orderId, placed.orderId));
    expect(lines).toHaveLength(2);
    const [row] = await db.select().from(orders).where(eq(orders.orderId, placed.orderId));
    expect(row).toMatchObject({
      status: "pending",
      subtotalCents: placed.subtotalCents,
      email: placed.email,
    });
  });

  it("records many placed orders in one statement, each once, with its own lines", async () => {
    const before = orderPlacedEvent([{ productId: "p1", qty: 1 }]);
    await db.execute(recordPlacedOrder(before));
    const one = orderPlacedEvent([{ productId: "p1", qty: 3 }]);
    const two = orderPlacedEvent([
      { productId: "p1", qty: 1 },
      { productId: "p2", qty: 4 },
    ]);
    const { rows } = await db.execute(recordPlacedOrders([one, before, two, { ...one, eventId: "again" }]));
    expect(rows.map((row) => row.order_id).sort()).toEqual([one.orderId, two.orderId].sort());
    const lines = await db
      .select({ orderId: orderLines.orderId, productId: orderLines.productId, qty: orderLines.qty })
      .from(orderLines)
      .where(inArray(orderLines.orderId, [one.orderId, two.orderId, before.orderId]));
    expect(
      lines.sort((a, b) => `${a.orderId}${a.productId}`.localeCompare(`${b.orderId}${b.productId}`)),
    ).toEqual(
      [
        { orderId: before.orderId, productId: "p1", qty: 1 },
        { orderId: one.orderId, productId: "p1", qty: 3 },
        { orderId: two.orderId, productId: "p1", qty: 1 },
        { orderId: two.orderId, productId: "p2", qty: 4 },
      ].sort((a, b) => `${a.orderId}${a.productId}`.localeCompare(`${b.orderId}${b.productId}`)),
    );
    const [row] = await db.select().from(orders).where(eq(orders.orderId, two.orderId));
    expect(row).toMatchObject({
      status: "pending",
      subtotalCents: two.subtotalCents,
      shippingAddress: two.shippingAddress,
      placedAt: new Date(two.placedAt),
    });
  });

  it("moves an order only along its transitions", async () => {
    expect(await moves(["decide", "fulfil", "ship"])).toMatchObject({
      changed: [1, 1, 1],
      status: "shipped",
    });
    // Decided once; nothing ships before it is requested; a shipped order is not cancelled.
    expect(await moves(["decide", "decide"])).toMatchObject({ changed: [1, 0], status: "confirmed" });
    expect(await moves(["fulfil", "ship"])).toMatchObject({ changed: [0, 0], status: "pending" });
    expect(await moves(["decide", "fulfil", "ship", "cancel"])).toMatchObject({
      changed: [1, 1, 1, 0],
      status: "shipped",
    });
    // A cancelled order is never decided, requested or shipped afterwards.
    expect(await moves(["cancel", "decide", "fulfil", "ship"])).toMatchObject({
      changed: [1, 0, 0, 0],
      status: "cancelled",
    });
    expect(ORDER_TRANSITIONS.cancelByMerchant.from).not.toContain("shipped");
  });

  it("requests and ships many orders in one statement each, moving only those in the status it leaves", async () => {
    const placed = [0, 1, 2].map(() => orderPlacedEvent([{ productId: "p1", qty: 1 }]));
    for (const event of placed) await db.execute(recordPlacedOrder(event));
    const [a, b, c] = placed.map((event) => event.orderId) as [string, string, string];
    const confirmed = { status: "confirmed" } as const;
    const decided = await db.execute(
      decideOrders(
        [
          { orderId: a, outcome: confirmed },
          { orderId: b, outcome: confirmed },
        ],
        new Date(),
      ),
    );
    expect(decided.rows).toHaveLength(2);
    // c is still pending: neither requested nor shipped.
    const requested = (await db.execute(markFulfilling([a, b, c]))).rows.map((r) => r.order_id);
    expect(requested.sort()).toEqual([a, b].sort());
    const shipped = await db.execute(
      markShipped([
        { orderId: a, shipment },
        { orderId: c, shipment: { ...shipment, trackingNumber: "1Z000" } },
      ]),
    );
    expect(shipped.rows).toEqual([
      expect.objectContaining({ order_id: a, carrier: "UPS", tracking_number: "1Z999" }),
    ]);
    const rows = await db
      .select()
      .from(orders)
      .where(inArray(orders.orderId, [a, b, c]));
    const statusOf = Object.fromEntries(rows.map((row) => [row.orderId, row.status]));
    expect(statusOf).toEqual({ [a]: "shipped", [b]: "fulfilling", [c]: "pending" });
    expect(rows.find((row) => row.orderId === a)?.shippedAt?.toISOString()).toBe(shipment.shippedAt);
  });
});
