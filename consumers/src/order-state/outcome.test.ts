import { describe, expect, it } from "vitest";
import { contradicts, decideOutcome } from "./outcome.ts";

const recordedAt = new Date();

describe("decideOutcome", () => {
  it("waits until the order is recorded and both results are known", () => {
    expect(decideOutcome({ recordedAt: null, inventory: "reserved", payment: "authorized" })).toBeNull();
    expect(decideOutcome({ recordedAt, inventory: null, payment: "authorized" })).toBeNull();
    expect(decideOutcome({ recordedAt, inventory: "reserved", payment: null })).toBeNull();
  });

  it("confirms only a reserved and authorized order", () => {
    expect(decideOutcome({ recordedAt, inventory: "reserved", payment: "authorized" })).toEqual({
      status: "confirmed",
    });
  });

  it("cancels for missing stock first, then for a declined payment", () => {
    const cancelled = (reason: string) => ({ status: "cancelled", reason });
    expect(decideOutcome({ recordedAt, inventory: "rejected", payment: "authorized" })).toEqual(
      cancelled("out_of_stock"),
    );
    expect(decideOutcome({ recordedAt, inventory: "rejected", payment: "declined" })).toEqual(
      cancelled("out_of_stock"),
    );
    expect(decideOutcome({ recordedAt, inventory: "reserved", payment: "declined" })).toEqual(
      cancelled("payment_declined"),
    );
  });

  it("past the saga deadline, decides with what is known: a known failure first, else payment_timeout", () => {
    const cancelled = (reason: string) => ({ status: "cancelled", reason });
    expect(decideOutcome({ recordedAt, inventory: "reserved", payment: null }, true)).toEqual(
      cancelled("payment_timeout"),
    );
    expect(decideOutcome({ recordedAt: null, inventory: null, payment: null }, true)).toEqual(
      cancelled("payment_timeout"),
    );
    expect(decideOutcome({ recordedAt, inventory: "rejected", payment: null }, true)).toEqual(
      cancelled("out_of_stock"),
    );
    expect(decideOutcome({ recordedAt, inventory: null, payment: "declined" }, true)).toEqual(
      cancelled("payment_declined"),
    );
    expect(decideOutcome({ recordedAt, inventory: "reserved", payment: "authorized" }, true)).toEqual({
      status: "confirmed",
    });
    // Held and authorized, but never recorded (its order-placed was dead-lettered): nothing could
    // fulfil it, so it is cancelled and both are given back.
    expect(decideOutcome({ recordedAt: null, inventory: "reserved", payment: "authorized" }, true)).toEqual(
      cancelled("payment_timeout"),
    );
  });
});

describe("contradicts", () => {
  const timedOut = { status: "cancelled", reason: "payment_timeout" } as const;
  const none = { recordedAt, inventory: null, payment: null };

  it("flags a late authorization or hold on a cancelled order, which must be undone", () => {
    expect(contradicts({ step: "payment", outcome: "authorized" }, none, timedOut)).toBe(true);
    expect(contradicts({ step: "inventory", outcome: "reserved" }, undefined, timedOut)).toBe(true);
    expect(contradicts({ step: "payment", outcome: "declined" }, none, timedOut)).toBe(false);
  });

  it("flags a second report of a step only when it differs from the first", () => {
    const known = { recordedAt, inventory: "reserved", payment: "declined" } as const;
    const declined = { status: "cancelled", reason: "payment_declined" } as const;
    expect(contradicts({ step: "inventory", outcome: "reserved" }, known, declined)).toBe(false);
    expect(contradicts({ step: "payment", outcome: "authorized" }, known, declined)).toBe(true);
  });
});
