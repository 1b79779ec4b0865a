import { describe, expect, it } from "vitest";
import { FulfillmentProviderUnavailableError } from "./provider.ts";
import { withProviderDeadline } from "./provider-deadline.ts";
import { createSimulatedWarehouse, SIMULATED_CARRIER, trackingNumberOf } from "./simulated-warehouse.ts";

const request = (orderId: string) => ({
  orderId,
  shippingAddress: { name: "Ada", line1: "1 Street", city: "Town", postalCode: "1", country: "GB" },
  items: [{ productId: "p1", variantId: "p1", sku: "p1", name: "Thing", qty: 1 }],
});

/** A clock the test moves. */
const clock = (start = 1_000_000) => {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
};

describe("simulated warehouse", () => {
  it("ships an order once its delay has passed, with a carrier and a tracking number of its own", async () => {
    const time = clock();
    const warehouse = createSimulatedWarehouse({ shipDelayMs: 1_000, now: time.now });
    expect(await warehouse.status("o1")).toEqual({ state: "unknown" });
    await warehouse.request(request("o1"));
    expect(await warehouse.status("o1")).toEqual({ state: "in_progress" });
    time.advance(1_000);
    expect(await warehouse.status("o1")).toEqual({
      state: "shipped",
      shipment: {
        carrier: SIMULATED_CARRIER,
        trackingNumber: trackingNumberOf("o1"),
        shippedAt: new Date(1_001_000).toISOString(),
      },
    });
    expect(trackingNumberOf("o1")).not.toBe(trackingNumberOf("o2"));
  });

  it("makes one fulfillment per order however often it is requested; the ship time is the first request's", async () => {
    const time = clock();
    const warehouse = createSimulatedWarehouse({ shipDelayMs: 1_000, now: time.now });
    await warehouse.request(request("o1"));
    time.advance(600);
    await warehouse.request(request("o1"));
    time.advance(400);
    expect(await warehouse.status("o1")).toMatchObject({ state: "shipped" });
    expect(warehouse.fulfillmentsOf("o1")).toBe(1);
  });

  it("never ships a cancelled order, also when it is requested after the cancellation", async () => {
    const time = clock();
    const warehouse = createSimulatedWarehouse({ shipDelayMs: 1_000, now: time.now });
    await warehouse.request(request("o1"));
    expect(await warehouse.cancel("o1")).toBe("cancelled");
    expect(await warehouse.cancel("o2")).toBe("cancelled");
    await warehouse.request(request("o2"));
    time.advance(5_000);
    expect(await warehouse.status("o1")).toEqual({ state: "cancelled" });
    expect(await warehouse.status("o2")).toEqual({ state: "cancelled" });
  });

  it("refuses to cancel an order it has shipped", async () => {
    const time = clock();
    const warehouse = createSimulatedWarehouse({ shipDelayMs: 1_000, now: time.now });
    await warehouse.request(request("o1"));
    time.advance(1_000);
    expect(await warehouse.cancel("o1")).toBe("shipped");
    expect(await warehouse.status("o1")).toMatchObject({ state: "shipped" });
  });

  it("fails transiently before or after the effect; a retry finds the first request", async () => {
    // Each call draws twice: fail?, then before (< 0.5) or after the effect.
    const draws = [0.1, 0.9, 0.9, 0.9];
    const warehouse = createSimulatedWarehouse({ failureRate: 0.5, random: () => draws.shift() ?? 0.9 });
    await expect(warehouse.request(request("o1"))).rejects.toBeInstanceOf(
      FulfillmentProviderUnavailableError,
    );
    expect(warehouse.fulfillmentsOf("o1")).toBe(1);
    await warehouse.request(request("o1"));
    expect(warehouse.fulfillmentsOf("o1")).toBe(1);
  });

  it("fails a call that does not answer within the deadline with a transient error", async () => {
    const slow = withProviderDeadline(createSimulatedWarehouse({ latencyMs: 60_000 }), 50);
    const started = Date.now();
    const error = await slow.status("o1").catch((e: unknown) => e);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(error).toBeInstanceOf(FulfillmentProviderUnavailableError);
    expect(String(error)).toContain("no answer within 50 ms");
  });
});
