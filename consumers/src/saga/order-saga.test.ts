import { readFile } from "node:fs/promises";
import { Redis } from "ioredis";
import { describe, expect, it } from "vitest";
import { createEmailConsumer } from "../email/index.ts";
import { createFulfillmentConsumer, createSimulatedWarehouse } from "../fulfillment/index.ts";
import { createInventoryConsumer } from "../inventory/index.ts";
import { createRedisOrderStatusCache } from "../order-state/index.ts";
import { createOrdersConsumer } from "../orders/index.ts";
import { createPaymentConsumer, createSimulatedProcessor } from "../payment/index.ts";
import { ORDER_SAGA } from "./order-saga.ts";

const { decide: decideOutcome, contradicts } = ORDER_SAGA;
const recordedAt = "recorded" as const;

describe("the order saga's decision", () => {
  it("waits until the order is recorded and both results are known", () => {
    expect(decideOutcome({ inventory: "reserved", payment: "authorized" })).toBeNull();
    expect(decideOutcome({ recorded: recordedAt, payment: "authorized" })).toBeNull();
    expect(decideOutcome({ recorded: recordedAt, inventory: "reserved" })).toBeNull();
  });

  it("confirms only a reserved and authorized order", () => {
    expect(decideOutcome({ recorded: recordedAt, inventory: "reserved", payment: "authorized" })).toEqual({
      status: "confirmed",
    });
  });

  it("cancels for missing stock first, then for a declined payment", () => {
    const cancelled = (reason: string) => ({ status: "cancelled", reason });
    expect(decideOutcome({ recorded: recordedAt, inventory: "rejected", payment: "authorized" })).toEqual(
      cancelled("out_of_stock"),
    );
    expect(decideOutcome({ recorded: recordedAt, inventory: "rejected", payment: "declined" })).toEqual(
      cancelled("out_of_stock"),
    );
    expect(decideOutcome({ recorded: recordedAt, inventory: "reserved", payment: "declined" })).toEqual(
      cancelled("payment_declined"),
    );
  });

  it("past the saga deadline, decides with what is known: a known failure first, else payment_timeout", () => {
    const cancelled = (reason: string) => ({ status: "cancelled", reason });
    expect(decideOutcome({ recorded: recordedAt, inventory: "reserved" }, true)).toEqual(
      cancelled("payment_timeout"),
    );
    expect(decideOutcome({}, true)).toEqual(cancelled("payment_timeout"));
    expect(decideOutcome({ recorded: recordedAt, inventory: "rejected" }, true)).toEqual(
      cancelled("out_of_stock"),
    );
    expect(decideOutcome({ recorded: recordedAt, payment: "declined" }, true)).toEqual(
      cancelled("payment_declined"),
    );
    expect(
      decideOutcome({ recorded: recordedAt, inventory: "reserved", payment: "authorized" }, true),
    ).toEqual({
      status: "confirmed",
    });
    // Held and authorized, but never recorded (its order-placed was dead-lettered): nothing could
    // fulfil it, so it is cancelled and both are given back.
    expect(decideOutcome({ inventory: "reserved", payment: "authorized" }, true)).toEqual(
      cancelled("payment_timeout"),
    );
  });
});

describe("a late report contradicting the decision", () => {
  const timedOut = { status: "cancelled", reason: "payment_timeout" } as const;
  const none = { recorded: recordedAt };

  it("flags a late authorization or hold on a cancelled order, which must be undone", () => {
    expect(contradicts({ step: "payment", outcome: "authorized" }, none, timedOut)).toBe(true);
    expect(contradicts({ step: "inventory", outcome: "reserved" }, undefined, timedOut)).toBe(true);
    expect(contradicts({ step: "payment", outcome: "declined" }, none, timedOut)).toBe(false);
  });

  it("flags a second report of a step only when it differs from the first", () => {
    const known = { recorded: recordedAt, inventory: "reserved", payment: "declined" } as const;
    const declined = { status: "cancelled", reason: "payment_declined" } as const;
    expect(contradicts({ step: "inventory", outcome: "reserved" }, known, declined)).toBe(false);
    expect(contradicts({ step: "payment", outcome: "authorized" }, known, declined)).toBe(true);
  });
});

describe("the declaration", () => {
  it("never announces the outcome again for a late report of a step with nothing to undo", () => {
    const timedOut = { status: "cancelled", reason: "payment_timeout" } as const;
    expect(ORDER_SAGA.contradicts({ step: "recorded", outcome: "recorded" }, {}, timedOut)).toBe(false);
  });

  it("is SAGA.md's table of steps", async () => {
    const doc = await readFile(new URL("../order-state/SAGA.md", import.meta.url), "utf8");
    expect(doc, `SAGA.md's table of steps should read:\n${ORDER_SAGA.table()}\n`).toContain(
      ORDER_SAGA.table(),
    );
  });

  it("is what the consumers subscribe to: each step's trigger, and the decision where there is something to settle", () => {
    const consumers = [
      createOrdersConsumer(),
      createInventoryConsumer(),
      createPaymentConsumer({ processor: createSimulatedProcessor() }),
      createEmailConsumer({ from: "shop@example.com" }),
      createFulfillmentConsumer({
        provider: createSimulatedWarehouse(),
        statusCache: createRedisOrderStatusCache(new Redis({ lazyConnect: true })),
      }),
    ];
    const topicsOf = (name: string) =>
      consumers.find((c) => c.name === name)?.subscriptions.map((s) => s.topic) ?? [];
    for (const name of ORDER_SAGA.stepNames) {
      const declared = ORDER_SAGA.steps[name];
      expect(topicsOf(declared.consumer), name).toContain(declared.trigger);
      if (declared.compensation || declared.completion)
        expect(topicsOf(declared.consumer), name).toContain(ORDER_SAGA.completes);
    }
    for (const follower of ORDER_SAGA.followers) expect(topicsOf(follower.consumer)).toContain(follower.on);
  });
});
