import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { orderLines, orders } from "../../../../db/schema/index.ts";
import { randomToken } from "../../../../domain/ids.ts";
import { type Order, orderStatusKey } from "../../../../domain/orders.ts";
import { issueToken } from "../../../edge/customer-auth/index.ts";
import { dbClient, redisClient } from "../../../platform/clients.ts";
import {
  call,
  cartLines,
  checkoutBody,
  expectError,
  filledCart,
  newKey,
  postCheckout,
} from "../test-support.ts";

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
      variantId: "prod_0000001",
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

describe("orders of customers", () => {
  const customer = () => `cus_${randomToken()}`;
  const tokenFor = async (customerId: string) =>
    (await issueToken(env.CUSTOMER_TOKEN_SECRET, customerId, 3600)).token;
  const withToken = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });

  it("records the customer of a checkout with a token; only that customer reads the order", async () => {
    const owner = customer();
    const ownerToken = await tokenFor(owner);
    const cartId = await filledCart([["prod_0000021", 1]]);
    const placed = await call("/v1/checkout", {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "Idempotency-Key": newKey(),
        authorization: `Bearer ${ownerToken}`,
      },
      body: JSON.stringify(checkoutBody(cartId)),
    });
    expect(placed.status).toBe(202);
    const order = (await placed.json()) as Order;
    expect(order).not.toHaveProperty("customerId");
    const record = JSON.parse(
      String(await redisClient(env, { raw: true }).get(orderStatusKey(order.orderId))),
    ) as Record<string, unknown>;
    expect(record.customerId).toBe(owner);

    const mine = await call(`/v1/orders/${order.orderId}`, withToken(ownerToken));
    expect(mine.status).toBe(200);
    expect(await mine.json()).toEqual(order);
    await expectError(
      await call(`/v1/orders/${order.orderId}`, withToken(await tokenFor(customer()))),
      404,
      "order_not_found",
    );
    await expectError(await call(`/v1/orders/${order.orderId}`), 404, "order_not_found");
  });

  it("keeps guest orders readable by id, with or without a token", async () => {
    const cartId = await filledCart([["prod_0000022", 1]]);
    const placed = await postCheckout(checkoutBody(cartId), newKey());
    const order = (await placed.json()) as Order;
    const record = JSON.parse(
      String(await redisClient(env, { raw: true }).get(orderStatusKey(order.orderId))),
    ) as Record<string, unknown>;
    expect(record.customerId).toBeNull();
    expect((await call(`/v1/orders/${order.orderId}`)).status).toBe(200);
    expect((await call(`/v1/orders/${order.orderId}`, withToken(await tokenFor(customer())))).status).toBe(
      200,
    );
  });

  it("refuses a checkout or an order read with an invalid token (401), placing nothing", async () => {
    const cartId = await filledCart([["prod_0000023", 1]]);
    const res = await call("/v1/checkout", {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "Idempotency-Key": newKey(),
        authorization: "Bearer not.a.token",
      },
      body: JSON.stringify(checkoutBody(cartId)),
    });
    await expectError(res, 401, "unauthorized");
    expect(await cartLines(cartId)).toEqual([{ variantId: "prod_0000023", qty: 1 }]);
    await expectError(await call("/v1/orders/ord_any", withToken("not.a.token")), 401, "unauthorized");
  });

  it("checks the owner in Postgres when the status record does not name it", async () => {
    const owner = customer();
    const orderId = `ord_pg_${crypto.randomUUID().slice(0, 8)}`;
    await dbClient(env)
      .insert(orders)
      .values({
        orderId,
        cartId: "cart_for_order_test_0000",
        email: "grace@example.com",
        status: "pending",
        subtotalCents: 500,
        currency: "USD",
        shippingAddress: { name: "G", line1: "1", city: "C", postalCode: "P", country: "US" },
        placedAt: new Date(),
        customerId: owner,
      });
    // Only in Postgres: the owner reads it, nobody else does.
    expect((await call(`/v1/orders/${orderId}`, withToken(await tokenFor(owner)))).status).toBe(200);
    await expectError(await call(`/v1/orders/${orderId}`), 404, "order_not_found");
    // A status record the pipeline wrote from Postgres (no owner in it): still the owner only.
    const now = new Date().toISOString();
    await redisClient(env, { raw: true }).set(
      orderStatusKey(orderId),
      JSON.stringify({
        orderId,
        status: "confirmed",
        email: "grace@example.com",
        items: [],
        subtotalCents: 500,
        currency: "USD",
        createdAt: now,
        updatedAt: now,
      }),
    );
    await expectError(
      await call(`/v1/orders/${orderId}`, withToken(await tokenFor(customer()))),
      404,
      "order_not_found",
    );
    const read = await call(`/v1/orders/${orderId}`, withToken(await tokenFor(owner)));
    expect(read.status).toBe(200);
    expect(await read.json()).toMatchObject({ orderId, status: "confirmed" });
  });
});
