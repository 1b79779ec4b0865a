import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { seedProduct } from "../../../../db/seed-data.ts";
import { ACKED_ORDERS_KEY, ackedOrderKey, type Order, orderStatusKey } from "../../../../domain/orders.ts";
import { CartStore } from "../../../edge/cart/index.ts";
import { StockCounter } from "../../../edge/stock/index.ts";
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

const price = (index: number) => seedProduct(index).priceCents;

describe("POST /v1/checkout", () => {
  it("accepts the order as pending, priced from the catalog, and empties the cart", async () => {
    const cartId = await filledCart([
      ["prod_0000011", 2],
      ["prod_0000012", 1],
    ]);
    const res = await postCheckout(checkoutBody(cartId), newKey());
    expect(res.status).toBe(202);
    const order = (await res.json()) as Order;
    expect(order).toMatchObject({ status: "pending", email: "ada@example.com", currency: "USD" });
    expect(order.orderId).toMatch(/^ord_[A-Za-z0-9_-]{22}$/);
    expect(order.subtotalCents).toBe(price(10) * 2 + price(11));
    expect(order.items).toHaveLength(2);
    expect(res.headers.get("Location")).toBe(`/v1/orders/${order.orderId}`);
    expect(res.headers.get("Idempotent-Replayed")).toBeNull();
    expect(await cartLines(cartId)).toEqual([]);

    const read = await call(`/v1/orders/${order.orderId}`);
    expect(read.status).toBe(200);
    expect(await read.json()).toEqual(order);

    // Kept with the acknowledged orders until the pipeline is seen to have recorded it.
    const redis = redisClient(env, { raw: true });
    expect(Number(await redis.zscore(ACKED_ORDERS_KEY, order.orderId))).toBeGreaterThan(0);
    const acked = JSON.parse((await redis.hget<string>(ackedOrderKey(order.orderId), "p")) ?? "null");
    expect(acked).toMatchObject({ eventId: `order-placed:${order.orderId}`, orderId: order.orderId, cartId });
  });

  it("replays the same key and body with the same answer and creates nothing", async () => {
    const cartId = await filledCart([["prod_0000013", 1]]);
    const key = newKey();
    const first = await postCheckout(checkoutBody(cartId), key);
    const firstOrder = (await first.json()) as Order;
    const again = await postCheckout(checkoutBody(cartId), key);
    expect(again.status).toBe(202);
    expect(again.headers.get("Idempotent-Replayed")).toBe("true");
    expect(await again.json()).toEqual(firstOrder);
  });

  it("answers 422 when a key is reused with a different body", async () => {
    const cartId = await filledCart([["prod_0000014", 1]]);
    const key = newKey();
    expect((await postCheckout(checkoutBody(cartId), key)).status).toBe(202);
    await expectError(
      await postCheckout(checkoutBody(cartId, { email: "other@example.com" }), key),
      422,
      "idempotency_key_mismatch",
    );
  });

  it("gives one order for 20 parallel requests with one key", async () => {
    const cartId = await filledCart([["prod_0000015", 3]]);
    const key = newKey();
    const answers = await Promise.all(
      Array.from({ length: 20 }, () => postCheckout(checkoutBody(cartId), key)),
    );
    const statuses = answers.map((res) => res.status);
    expect(statuses.every((s) => s === 202 || s === 409)).toBe(true);
    const accepted = await Promise.all(
      answers.filter((res) => res.status === 202).map((res) => res.json() as Promise<Order>),
    );
    expect(accepted.length).toBeGreaterThan(0);
    expect(new Set(accepted.map((o) => o.orderId)).size).toBe(1);
    for (const res of answers.filter((r) => r.status === 409))
      await expectError(res, 409, "checkout_in_progress");
    const replay = await postCheckout(checkoutBody(cartId), key);
    expect(((await replay.json()) as Order).orderId).toBe(accepted[0]?.orderId);
  });

  it("never gives two orders for one cart checked out with different keys at once", async () => {
    const cartId = await filledCart([["prod_0000016", 1]]);
    const answers = await Promise.all(
      Array.from({ length: 10 }, () => postCheckout(checkoutBody(cartId), newKey())),
    );
    const accepted = answers.filter((res) => res.status === 202);
    expect(accepted).toHaveLength(1);
    for (const res of answers.filter((r) => r.status !== 202)) {
      const body = (await res.json()) as { error: { code: string } };
      expect([409]).toContain(res.status);
      expect(["checkout_in_progress", "cart_empty"]).toContain(body.error.code);
    }
  });

  it("answers 409 cart_empty and 404 cart_not_found", async () => {
    const empty = await filledCart([]);
    await expectError(await postCheckout(checkoutBody(empty), newKey()), 409, "cart_empty");
    await expectError(
      await postCheckout(checkoutBody("AAAAAAAAAAAAAAAAAAAAAA"), newKey()),
      404,
      "cart_not_found",
    );
  });

  it("requires an Idempotency-Key of 1..255 characters", async () => {
    const cartId = await filledCart([["prod_0000017", 1]]);
    await expectError(await postCheckout(checkoutBody(cartId), undefined), 400, "idempotency_key_required");
    await expectError(await postCheckout(checkoutBody(cartId), "k".repeat(256)), 400, "invalid_request");
    expect(await cartLines(cartId)).toEqual([{ variantId: "prod_0000017", qty: 1 }]);
  });

  it.each([
    ["a malformed token", { paymentToken: "card_4242" }],
    ["a bad email", { email: "not-an-email" }],
    [
      "a 3-letter country",
      { shippingAddress: { name: "A", line1: "B", city: "C", postalCode: "D", country: "GBR" } },
    ],
    ["a missing address", { shippingAddress: undefined }],
    ["an unknown field", { coupon: "FREE" }],
    ["a client-sent price", { subtotalCents: 1 }],
    ["a malformed cart id", { cartId: "x" }],
  ])("answers 400 to %s", async (_name, patch) => {
    const cartId = await filledCart([["prod_0000018", 1]]);
    await expectError(await postCheckout(checkoutBody(cartId, patch), newKey()), 400, "invalid_request");
  });

  it("answers 503 with the cart untouched when Kafka is down, and the same key succeeds later", async () => {
    const cartId = await filledCart([["prod_0000019", 2]]);
    const key = newKey();
    const down = await postCheckout(checkoutBody(cartId), key, {
      KAFKA_REST_URL: "http://127.0.0.1:9",
      ORDER_PUBLISH_TIMEOUT_MS: "800",
    });
    await expectError(down, 503, "order_queue_unavailable");
    expect(Number(down.headers.get("Retry-After"))).toBeGreaterThan(0);
    expect(await cartLines(cartId)).toEqual([{ variantId: "prod_0000019", qty: 2 }]);

    const later = await postCheckout(checkoutBody(cartId), key);
    expect(later.status).toBe(202);
    expect(later.headers.get("Idempotent-Replayed")).toBeNull();
    expect(await cartLines(cartId)).toEqual([]);
  });

  it("freezes the cart as the order after a 503, and a retry with any key places exactly that order", async () => {
    const cartId = await filledCart([["prod_0000020", 2]]);
    const down = await postCheckout(checkoutBody(cartId), newKey(), {
      KAFKA_REST_URL: "http://127.0.0.1:9",
      ORDER_PUBLISH_TIMEOUT_MS: "300",
    });
    const { orderId } = (await expectError(down, 503, "order_queue_unavailable")).error.details as {
      orderId: string;
    };
    expect(orderId).toMatch(/^ord_/);

    // The order may have landed: the cart shows it and refuses changes until it settles.
    const store = new CartStore(env);
    expect(await store.read(cartId)).toMatchObject({ pendingOrderId: orderId, lines: [{ qty: 2 }] });
    await expect(store.addItem(cartId, { variantId: "prod_0000021" }, 1, "USD")).rejects.toMatchObject({
      code: "checkout_in_progress",
      details: { orderId },
    });
    await expect(store.delete(cartId)).rejects.toMatchObject({ code: "checkout_in_progress" });

    // Another click, another key, another email: still the first order, published again.
    const retry = await postCheckout(checkoutBody(cartId, { email: "grace@example.com" }), newKey());
    expect(retry.status).toBe(202);
    const order = (await retry.json()) as Order;
    expect(order).toMatchObject({ orderId, email: "ada@example.com", status: "pending" });
    expect(order.subtotalCents).toBe(price(19) * 2);
    expect(await store.read(cartId)).toMatchObject({ lines: [], lastOrderId: orderId });
    expect((await store.read(cartId)) as object).not.toHaveProperty("pendingOrderId");

    // The cart is usable again, and a checkout of it empty names the order it placed.
    const empty = await expectError(await postCheckout(checkoutBody(cartId), newKey()), 409, "cart_empty");
    expect(empty.error.details).toEqual({ lastOrderId: orderId });
  });

  it("answers the same key with the order that landed after its 503; other keys learn its id", async () => {
    // A publish that timed out may still land: the pipeline then finalizes the order and writes its
    // status record before the shopper comes back.
    const cartId = await filledCart([["prod_0000022", 1]]);
    const key = newKey();
    const down = await postCheckout(checkoutBody(cartId), key, {
      KAFKA_REST_URL: "http://127.0.0.1:9",
      ORDER_PUBLISH_TIMEOUT_MS: "300",
    });
    const { orderId } = (await expectError(down, 503, "order_queue_unavailable")).error.details as {
      orderId: string;
    };
    const redis = redisClient(env, { raw: true });
    const at = new Date().toISOString();
    const landed: Order = {
      orderId,
      status: "confirmed",
      email: "ada@example.com",
      items: [
        {
          productId: "prod_0000022",
          variantId: "prod_0000022",
          sku: seedProduct(21).sku,
          name: seedProduct(21).name,
          options: {},
          qty: 1,
          unitPriceCents: price(21),
          lineTotalCents: price(21),
        },
      ],
      subtotalCents: price(21),
      currency: "USD",
      createdAt: at,
      updatedAt: at,
    };
    await redis.set(orderStatusKey(orderId), JSON.stringify(landed));

    // Another key: the cart has settled as that order, which it names; nothing is published again.
    const other = await expectError(await postCheckout(checkoutBody(cartId), newKey()), 409, "cart_empty");
    expect(other.error.details).toEqual({ lastOrderId: orderId });
    expect(await new CartStore(env).read(cartId)).toMatchObject({ lines: [], lastOrderId: orderId });

    // The same key, as the contract tells the client to retry: 202 with that order, as a replay.
    for (let replay = 0; replay < 2; replay++) {
      const retry = await postCheckout(checkoutBody(cartId), key);
      expect(retry.status).toBe(202);
      expect(retry.headers.get("Idempotent-Replayed")).toBe("true");
      expect(retry.headers.get("Location")).toBe(`/v1/orders/${orderId}`);
      expect(await retry.json()).toEqual(landed);
    }
    // Never put back to pending.
    expect(JSON.parse((await redis.get<string>(orderStatusKey(orderId))) ?? "null")).toEqual(landed);
  });

  it("answers the same key with its order when the order landed before the cart was looked at again", async () => {
    const cartId = await filledCart([["prod_0000025", 1]]);
    const key = newKey();
    const down = await postCheckout(checkoutBody(cartId), key, {
      KAFKA_REST_URL: "http://127.0.0.1:9",
      ORDER_PUBLISH_TIMEOUT_MS: "300",
    });
    const { orderId } = (await expectError(down, 503, "order_queue_unavailable")).error.details as {
      orderId: string;
    };
    // The cart is still frozen; the status record appears (the order landed): the key's first retry
    // settles the cart and answers the order, without publishing it again.
    const pending = await new CartStore(env).read(cartId);
    expect(pending).toMatchObject({ pendingOrderId: orderId });
    const at = new Date().toISOString();
    const record = {
      orderId,
      status: "pending",
      email: "ada@example.com",
      items: [],
      subtotalCents: 0,
      currency: "USD",
      createdAt: at,
      updatedAt: at,
    };
    await redisClient(env, { raw: true }).set(orderStatusKey(orderId), JSON.stringify(record));
    const retry = await postCheckout(checkoutBody(cartId), key);
    expect(retry.status).toBe(202);
    expect(retry.headers.get("Idempotent-Replayed")).toBe("true");
    expect(((await retry.json()) as Order).orderId).toBe(orderId);
    expect(await new CartStore(env).read(cartId)).toMatchObject({ lines: [], lastOrderId: orderId });
  });

  it("refuses an order over the maximum value, or a line over the maximum amount, before holding anything", async () => {
    const productId = "prod_0000036";
    const cartId = await filledCart([[productId, 3]]);
    const counter = new StockCounter(redisClient(env, { raw: true }), () => dbClient(env));
    await counter.load([productId]);
    const before = (await counter.available([productId])).get(productId);
    const unit = price(35);
    const overOrder = await expectError(
      await postCheckout(checkoutBody(cartId), newKey(), { MAX_ORDER_CENTS: String(unit * 3 - 1) }),
      422,
      "amount_limit",
    );
    expect(overOrder.error.details).toMatchObject({
      subtotalCents: unit * 3,
      maxOrderCents: unit * 3 - 1,
      lines: [],
    });
    const overLine = await expectError(
      await postCheckout(checkoutBody(cartId), newKey(), { MAX_LINE_CENTS: String(unit * 2) }),
      422,
      "amount_limit",
    );
    expect(overLine.error.details).toMatchObject({ lines: [{ productId, lineTotalCents: unit * 3 }] });
    expect(await cartLines(cartId)).toEqual([{ variantId: productId, qty: 3 }]);
    expect((await counter.available([productId])).get(productId)).toBe(before);
    // At the limits exactly: accepted.
    const atLimit = await postCheckout(checkoutBody(cartId), newKey(), {
      MAX_ORDER_CENTS: String(unit * 3),
      MAX_LINE_CENTS: String(unit * 3),
    });
    expect(atLimit.status).toBe(202);
  });

  it("gives a hold whose order never reached Kafka back to the stock counter after its TTL", async () => {
    const productId = "prod_0000024";
    const cartId = await filledCart([[productId, 3]]);
    const counter = new StockCounter(redisClient(env, { raw: true }), () => dbClient(env));
    await counter.load([productId]);
    const before = (await counter.available([productId])).get(productId) ?? 0;
    const down = await postCheckout(checkoutBody(cartId), newKey(), {
      KAFKA_REST_URL: "http://127.0.0.1:9",
      ORDER_PUBLISH_TIMEOUT_MS: "300",
      STOCK_HOLD_TTL_MS: "1500",
    });
    await expectError(down, 503, "order_queue_unavailable");
    expect((await counter.available([productId])).get(productId)).toBe(before - 3);
    await expect
      .poll(async () => (await counter.available([productId])).get(productId), {
        timeout: 10_000,
        interval: 250,
      })
      .toBe(before);
  });
});
