import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { orderLines, orders } from "../../../../db/schema/index.ts";
import { dbClient } from "../../../platform/clients.ts";
import { call, expectError } from "../test-support.ts";

describe("GET /v1/orders/:orderId", () => {
  it("reads Postgres when the status record is missing", async () => {
    const orderId = `ord_pg_${crypto.randomUUID().slice(0, 8)}`;
    const db = dbClient(env);
    await db.insert(orders).values({
      orderId,
      cartId: "cart_for_order_test_0000",
      email: "grace@example.com",
      status: "cancelled",
      reason: "out_of_stock",
      subtotalCents: 1000,
      currency: "USD",
      shippingAddress: { name: "G", line1: "1", city: "C", postalCode: "P", country: "US" },
      placedAt: new Date("2026-11-27T10:00:00Z"),
    });
    await db.insert(orderLines).values({
      orderId,
      productId: "prod_0000001",
      sku: "SKU-0000001",
      name: "Mug",
      qty: 2,
      unitPriceCents: 500,
      lineTotalCents: 1000,
    });
    const res = await call(`/v1/orders/${orderId}`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      orderId,
      status: "cancelled",
      reason: "out_of_stock",
      subtotalCents: 1000,
      items: [{ productId: "prod_0000001", qty: 2, lineTotalCents: 1000 }],
      createdAt: "2026-11-27T10:00:00.000Z",
    });
  });

  it("answers 404 order_not_found and 400 for malformed ids", async () => {
    await expectError(await call("/v1/orders/ord_does_not_exist"), 404, "order_not_found");
    await expectError(await call(`/v1/orders/${"x".repeat(65)}`), 400, "invalid_request");
  });
});
