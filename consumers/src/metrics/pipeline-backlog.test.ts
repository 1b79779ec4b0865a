import { randomUUID } from "node:crypto";
import { afterAll, describe, expect, inject, it } from "vitest";
import { createNodeDb } from "../../../db/node-client.ts";
import { deadLetters, effects, orders, outbox, parkedEvents, payments } from "../../../db/schema/index.ts";
import { readPipelineBacklog } from "./pipeline-backlog.ts";

const { db, pool } = createNodeDb(inject("stack").databaseUrl, { max: 1 });
afterAll(() => pool.end());

class Rollback extends Error {}

/** What `work` makes readPipelineBacklog answer, before and after, in a transaction rolled back. */
const around = async (work: (tx: Parameters<Parameters<typeof db.transaction>[0]>[0]) => Promise<void>) =>
  db
    .transaction(async (tx) => {
      const before = await readPipelineBacklog(tx);
      await work(tx);
      const after = await readPipelineBacklog(tx);
      throw new Rollback(JSON.stringify({ before, after, consumers: [...after.parkedEvents] }));
    })
    .catch((error: unknown) => {
      if (error instanceof Rollback) return JSON.parse(error.message);
      throw error;
    });

const minutesAgo = (m: number) => new Date(Date.now() - m * 60_000);

describe("readPipelineBacklog", () => {
  it("counts unpublished outbox rows and the age of the oldest, leaving published and parked rows out", async () => {
    // In a transaction that is rolled back, so no relay ever sees these rows.
    const seen = await around(async (tx) => {
      await tx.insert(outbox).values([
        { topic: "backlog-test", key: "a", payload: { eventId: "a" }, createdAt: minutesAgo(10) },
        { topic: "backlog-test", key: "b", payload: { eventId: "b" }, createdAt: minutesAgo(1) },
        {
          topic: "backlog-test",
          key: "c",
          payload: { eventId: "c" },
          createdAt: minutesAgo(60),
          publishedAt: minutesAgo(59),
        },
        {
          topic: "backlog-test",
          key: "d",
          payload: { eventId: "d" },
          createdAt: minutesAgo(120),
          attempts: 10,
          parkedAt: minutesAgo(100),
        },
      ]);
    });
    expect(seen.after.outbox.rows).toBe(seen.before.outbox.rows + 2);
    expect(seen.after.parked.outbox).toBe(seen.before.parked.outbox + 1);
    // Other runs may have rows waiting too (of any age), so the oldest is at least ten minutes old
    // (less a little: the age is taken from the transaction's start, before the row's time was set),
    // and no older than the hour-old published row unless an older unpublished one was there before.
    const before: number = seen.before.outbox.oldestAgeSeconds ?? 0;
    expect(seen.after.outbox.oldestAgeSeconds).toBeGreaterThanOrEqual(Math.max(595, before - 5));
    expect(seen.after.outbox.oldestAgeSeconds).toBeLessThan(Math.max(3_000, before + 5));
  });

  it("counts effects waiting and parked, and parked events per consumer", async () => {
    const consumer = `backlog-test-${randomUUID().slice(0, 8)}`;
    const seen = await around(async (tx) => {
      await tx.insert(effects).values([
        { kind: "backlog-test", key: "a", payload: {}, createdAt: minutesAgo(5) },
        { kind: "backlog-test", key: "b", payload: {}, attempts: 10, parkedAt: minutesAgo(1) },
      ]);
      const row = {
        consumer,
        topic: "t",
        partition: 0,
        offset: 0n,
        value: Buffer.from("{}"),
        createdAt: minutesAgo(3),
      };
      await tx.insert(parkedEvents).values([
        { ...row, key: "k", eventId: "e1", reason: "failed" },
        { ...row, key: "k", eventId: "e2", reason: "behind" },
      ]);
    });
    expect(seen.after.effects.rows).toBe(seen.before.effects.rows + 1);
    expect(seen.after.effects.oldestAgeSeconds).toBeGreaterThanOrEqual(295);
    expect(seen.after.parked.effects).toBe(seen.before.parked.effects + 1);
    const [, mine] = seen.consumers.find(([name]: [string]) => name === consumer) ?? [];
    expect(mine).toEqual({ rows: 2, oldestAgeSeconds: expect.any(Number) });
    expect(mine.oldestAgeSeconds).toBeGreaterThanOrEqual(175);
  });

  it("counts orders whose order-placed the orders consumer dead-lettered and Postgres never recorded", async () => {
    const letter = (key: string, consumer = "orders", topic = "x.order-placed") => ({
      consumer,
      topic,
      key,
      error: "refused",
      attempts: 1,
    });
    const lost = `ord_${randomUUID().replaceAll("-", "")}`;
    const seen = await around(async (tx) => {
      await tx.insert(deadLetters).values([
        letter(lost),
        letter(lost, "orders", "y.order-placed"), // replayed and dead-lettered again: one order
        letter(`ord_${randomUUID().replaceAll("-", "")}`, "inventory"), // another consumer's
        letter(`ord_${randomUUID().replaceAll("-", "")}`, "orders", "x.order-finalized"),
      ]);
    });
    expect(seen.after.unrecordedOrders).toBe(seen.before.unrecordedOrders + 1);
  });

  it("counts confirmed orders whose payment is not captured, and how long the oldest has waited", async () => {
    const order = (status: "confirmed" | "pending", updatedAt: Date) => ({
      orderId: `ord_${randomUUID().replaceAll("-", "")}`,
      cartId: "c",
      email: "a@example.com",
      status,
      subtotalCents: 100,
      currency: "USD" as const,
      shippingAddress: { name: "A", line1: "1 St", city: "X", postalCode: "1", country: "US" },
      placedAt: updatedAt,
      updatedAt,
    });
    const waiting = order("confirmed", minutesAgo(10));
    const captured = order("confirmed", minutesAgo(30));
    const pending = order("pending", minutesAgo(30));
    const seen = await around(async (tx) => {
      await tx.insert(orders).values([waiting, captured, pending]);
      const payment = { amountCents: 100, currency: "USD" as const };
      await tx.insert(payments).values([
        { ...payment, orderId: waiting.orderId, status: "authorized", processorRef: "r1" },
        { ...payment, orderId: captured.orderId, status: "captured", processorRef: "r2" },
      ]);
    });
    expect(seen.after.uncapturedOrders.rows).toBe(seen.before.uncapturedOrders.rows + 1);
    // The authorized payment has its reference: nothing for reconciliation there.
    expect(seen.after.unreconciledPayments.rows).toBe(seen.before.unreconciledPayments.rows);
    expect(seen.after.uncapturedOrders.oldestAgeSeconds).toBeGreaterThanOrEqual(595);
  });

  it("counts payments whose answer was never recorded and reconciliation has not settled", async () => {
    const payment = (status: "requested" | "voided", extra: Record<string, unknown> = {}) => ({
      orderId: `ord_${randomUUID().replaceAll("-", "")}`,
      status,
      amountCents: 100,
      currency: "USD" as const,
      updatedAt: minutesAgo(45),
      ...extra,
    });
    const seen = await around(async (tx) => {
      await tx
        .insert(payments)
        .values([
          payment("requested"),
          payment("voided"),
          payment("voided", { processorRef: "pi_known" }),
          payment("voided", { reconciledAt: new Date() }),
        ]);
    });
    expect(seen.after.unreconciledPayments.rows).toBe(seen.before.unreconciledPayments.rows + 2);
    expect(seen.after.unreconciledPayments.oldestAgeSeconds).toBeGreaterThanOrEqual(2_695);
  });
});
