import { describe, expect, it } from "vitest";
import { OrderPlacedSchema, PaymentTokenSchema, ShippingAddressSchema } from "./events.ts";

const order = {
  eventId: "evt_1",
  orderId: "ord_1",
  cartId: "c".repeat(22),
  email: "ada@example.com",
  items: [{ productId: "p1", sku: "SKU-1", name: "Mug", qty: 2, unitPriceCents: 1250 }],
  subtotalCents: 2500,
  currency: "USD",
  paymentToken: "tok_visa",
  shippingAddress: { name: "Ada", line1: "1 Main St", city: "London", postalCode: "N1", country: "GB" },
  placedAt: "2026-11-27T10:00:00.000Z",
};

describe("event schemas", () => {
  it("accepts a well-formed OrderPlaced", () => {
    expect(OrderPlacedSchema.parse(order)).toEqual(order);
  });

  it("refuses an OrderPlaced whose subtotal is not the total of its lines", () => {
    const result = OrderPlacedSchema.safeParse({ ...order, subtotalCents: 2499 });
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((issue) => issue.path)).toEqual([["subtotalCents"]]);
  });

  it("carries the customer of an order placed with a customer token, and none for a guest", () => {
    const customerId = `cus_${"a".repeat(22)}`;
    expect(OrderPlacedSchema.parse({ ...order, customerId })).toEqual({ ...order, customerId });
    expect(OrderPlacedSchema.parse(order)).not.toHaveProperty("customerId");
    expect(OrderPlacedSchema.safeParse({ ...order, customerId: "someone" }).success).toBe(false);
  });

  it("rejects fractional quantities, bad currencies and empty orders", () => {
    expect(OrderPlacedSchema.safeParse({ ...order, items: [{ ...order.items[0], qty: 1.5 }] }).success).toBe(
      false,
    );
    expect(OrderPlacedSchema.safeParse({ ...order, currency: "usd" }).success).toBe(false);
    expect(OrderPlacedSchema.safeParse({ ...order, items: [] }).success).toBe(false);
  });

  it("checks payment tokens and countries", () => {
    expect(PaymentTokenSchema.safeParse("tok_chargeDeclined").success).toBe(true);
    expect(PaymentTokenSchema.safeParse("card_4242").success).toBe(false);
    expect(ShippingAddressSchema.safeParse({ ...order.shippingAddress, country: "GBR" }).success).toBe(false);
    expect(ShippingAddressSchema.safeParse({ ...order.shippingAddress, extra: 1 }).success).toBe(false);
  });
});
