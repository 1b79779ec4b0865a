import { describe, expect, it } from "vitest";
import { decideOutcome } from "./outcome.ts";

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
});
