import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { Order } from "../domain/orders.ts";
import { uniqueProductId } from "./support/api.ts";
import { useE2e } from "./support/fixture.ts";
import { CONSUMER_NAMES, sleep, waitFor } from "./support/pipeline.ts";
import { createRecorder, produceAgain } from "./support/recorder.ts";
import { readShippedStock, readShipping } from "./support/shipping.ts";

const SHIP_DELAY_MS = 4_000;
/** The lifecycle of an order that ships. */
const ORDER = ["pending", "confirmed", "fulfilling", "shipped"];

/**
 * Issue 14: from a confirmed order to shipped, through the public API, every consumer (fulfillment
 * included) and the simulated warehouse, which ships 4 s after the request here.
 */
describe("fulfillment end to end", () => {
  const recorder = createRecorder();
  const e2e = useE2e({
    only: CONSUMER_NAMES,
    extras: [recorder.def],
    settings: { FULFILLMENT_SIM_SHIP_DELAY_MS: String(SHIP_DELAY_MS), FULFILLMENT_POLL_INTERVAL_MS: "200" },
  });

  const call = (path: string, init: { method?: string; token?: string; body?: unknown } = {}) =>
    fetch(`${e2e.workers.url}${path}`, {
      method: init.method ?? "GET",
      headers: {
        ...(init.body === undefined ? {} : { "content-type": "application/json" }),
        ...(init.token ? { authorization: `Bearer ${init.token}` } : {}),
        ...(init.method === "POST" && path === "/v1/checkout" ? { "idempotency-key": randomUUID() } : {}),
      },
      ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
    });

  /** The statuses GET /v1/orders/:id answered, in order, until `until` (or the deadline). */
  const follow = async (
    orderId: string,
    until: string,
    token?: string,
  ): Promise<{ seen: string[]; last: Order }> => {
    const seen: string[] = [];
    const deadline = Date.now() + 120_000;
    for (;;) {
      const res = await call(`/v1/orders/${orderId}`, token ? { token } : {});
      const order = (await res.json()) as Order;
      if (seen.at(-1) !== order.status) seen.push(order.status);
      if (order.status === until || Date.now() > deadline) return { seen, last: order };
      await sleep(100);
    }
  };

  const placeOrder = async (productId: string, qty: number): Promise<string> => {
    const answer = await e2e.api.checkout(await e2e.api.cartWith(productId, qty), "tok_visa");
    expect(answer.status).toBe(202);
    return answer.order?.orderId ?? "";
  };

  it("tok_visa: confirmed → fulfilling → shipped with a tracking number, one shipping email, stock shipped", async () => {
    const productId = uniqueProductId("e2e_ship");
    await e2e.api.createProduct(productId, 5);
    // A customer's order, so the order history shows the new states too.
    const signedUp = await call("/v1/customers", {
      method: "POST",
      body: { email: `e2e.${randomUUID().slice(0, 12)}@example.com`, password: "e2e customer password" },
    });
    const { token } = (await signedUp.json()) as { token: string };
    const { cartId } = (await (await call("/v1/customers/me/cart", { token })).json()) as { cartId: string };
    await call(`/v1/carts/${cartId}/items`, { method: "POST", body: { productId, qty: 1 } });
    const placed = await call("/v1/checkout", {
      method: "POST",
      token,
      body: {
        cartId,
        email: "shopper@example.com",
        paymentToken: "tok_visa",
        shippingAddress: {
          name: "Ada",
          line1: "1 Test Street",
          city: "Testville",
          postalCode: "12345",
          country: "US",
        },
      },
    });
    expect(placed.status).toBe(202);
    const { orderId } = (await placed.json()) as Order;

    const { seen, last } = await follow(orderId, "shipped", token);
    expect(last).toMatchObject({
      status: "shipped",
      shipment: { carrier: "SimPost", trackingNumber: expect.stringMatching(/^SP[0-9A-F]{16}$/) },
    });
    // Every state in its order (a poll may miss the short-lived pending or confirmed, not fulfilling).
    expect(seen.filter((s) => s !== "pending" && s !== "confirmed")).toEqual(["fulfilling", "shipped"]);
    expect(seen).toEqual([...seen].sort((a, b) => ORDER.indexOf(a) - ORDER.indexOf(b)));

    await expect
      .poll(() => readShippedStock(e2e.pipeline.db, productId), { timeout: 15_000 })
      .toEqual({ available: 4, reserved: 0, shipped: 1 });
    await expect
      .poll(async () => (await readShipping(e2e.pipeline.db, orderId)).emails, { timeout: 15_000 })
      .toEqual({ order_confirmed: 1, order_shipped: 1 });
    const record = await readShipping(e2e.pipeline.db, orderId);
    expect(record).toMatchObject({ status: "shipped", payment: "captured", shipments: 1 });
    expect(record.trackingNumber).toBe(last.shipment?.trackingNumber);
    expect(e2e.pipeline.warehouse.fulfillmentsOf(orderId)).toBe(1);

    const history = (await (await call("/v1/customers/me/orders", { token })).json()) as { items: Order[] };
    expect(history.items).toEqual([
      expect.objectContaining({ orderId, status: "shipped", shipment: last.shipment }),
    ]);
    const listed = await e2e.api.adminOrders("status=shipped&limit=100");
    expect(listed.items.map((o) => o.orderId)).toContain(orderId);
  });

  it("admin cancel before shipping: cancelled, stock back, payment refunded, one email, never shipped", async () => {
    const productId = uniqueProductId("e2e_cancel");
    await e2e.api.createProduct(productId, 5);
    const orderId = await placeOrder(productId, 2);
    await follow(orderId, "fulfilling");
    const res = await e2e.api.cancelOrder(orderId);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ orderId, status: "cancelled", reason: "cancelled_by_merchant" });

    await expect
      .poll(() => readShippedStock(e2e.pipeline.db, productId), { timeout: 15_000 })
      .toEqual({ available: 5, reserved: 0, shipped: 0 });
    await expect
      .poll(async () => (await readShipping(e2e.pipeline.db, orderId)).payment, { timeout: 15_000 })
      .toBe("refunded");
    expect(e2e.pipeline.processor.stateOf(orderId)).toBe("refunded");
    await expect
      .poll(async () => (await readShipping(e2e.pipeline.db, orderId)).emails, { timeout: 15_000 })
      .toEqual({ order_confirmed: 1, order_cancelled: 1 });
    // Past the warehouse's ship time and a few tracking passes: still cancelled, nothing shipped.
    await sleep(SHIP_DELAY_MS + 1_000);
    expect(await e2e.pipeline.warehouse.status(orderId)).toEqual({ state: "cancelled" });
    expect(await readShipping(e2e.pipeline.db, orderId)).toMatchObject({
      status: "cancelled",
      trackingNumber: null,
      shipments: 0,
      emails: { order_confirmed: 1, order_cancelled: 1 },
    });
    expect(await e2e.api.order(orderId)).toMatchObject({
      status: "cancelled",
      reason: "cancelled_by_merchant",
    });
    // A second cancellation answers the same order and sends nothing more.
    expect((await e2e.api.cancelOrder(orderId)).status).toBe(200);
  });

  it("admin cancel after shipping: 409 order_already_shipped, nothing changes", async () => {
    const productId = uniqueProductId("e2e_late");
    await e2e.api.createProduct(productId, 5);
    const orderId = await placeOrder(productId, 1);
    await follow(orderId, "shipped");
    const res = await e2e.api.cancelOrder(orderId);
    expect(res.status).toBe(409);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("order_already_shipped");
    await sleep(1_000);
    expect(await e2e.api.order(orderId)).toMatchObject({ status: "shipped" });
    await expect
      .poll(() => readShippedStock(e2e.pipeline.db, productId), { timeout: 15_000 })
      .toEqual({ available: 4, reserved: 0, shipped: 1 });
    expect((await readShipping(e2e.pipeline.db, orderId)).emails).toEqual({
      order_confirmed: 1,
      order_shipped: 1,
    });
  });

  it("every event of the fulfillment step delivered twice: no second shipment, email or stock change", async () => {
    const productId = uniqueProductId("e2e_twice");
    await e2e.api.createProduct(productId, 5);
    const orderId = await placeOrder(productId, 2);
    await follow(orderId, "shipped");
    await expect
      .poll(async () => (await readShipping(e2e.pipeline.db, orderId)).emails, { timeout: 15_000 })
      .toEqual({ order_confirmed: 1, order_shipped: 1 });
    await expect
      .poll(() => readShippedStock(e2e.pipeline.db, productId), { timeout: 15_000 })
      .toEqual({ available: 3, reserved: 0, shipped: 2 });
    const events = recorder.events.filter(
      (e) => e.key === orderId && (e.topic === "order-finalized" || e.topic === "order-shipped"),
    );
    expect(events.map((e) => e.topic).sort()).toEqual(["order-finalized", "order-shipped"]);
    const before = await readShipping(e2e.pipeline.db, orderId);
    // Twice more each: once as they were (same event ids), once as a new announcement (new ids).
    const again = [...events, ...events.map((e) => ({ ...e, value: { ...e.value, eventId: randomUUID() } }))];
    const appliedBefore = e2e.pipeline.total("applied");
    const duplicatesBefore = e2e.pipeline.total("duplicate");
    await produceAgain(e2e.stack.kafkaBrokers.split(","), e2e.stack.kafkaTopicPrefix, again);
    // order-finalized: inventory, payment, email, fulfillment; order-shipped: inventory, email.
    await waitFor(
      "every replay read",
      () =>
        e2e.pipeline.total("duplicate") - duplicatesBefore >= 6 &&
        e2e.pipeline.total("applied") - appliedBefore >= 6,
      30_000,
    );
    await sleep(1_500);
    expect(e2e.pipeline.total("dead-lettered")).toBe(0);
    expect(await readShipping(e2e.pipeline.db, orderId)).toEqual(before);
    expect(await readShippedStock(e2e.pipeline.db, productId)).toEqual({
      available: 3,
      reserved: 0,
      shipped: 2,
    });
    expect(e2e.pipeline.warehouse.fulfillmentsOf(orderId)).toBe(1);
  });
});
