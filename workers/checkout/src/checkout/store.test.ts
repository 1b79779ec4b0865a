import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { OrderPlacedSchema } from "../../../../domain/events.ts";
import type { Order } from "../../../../domain/orders.ts";
import { redisClient } from "../../../platform/clients.ts";
import { cartKey } from "../../../storefront/src/cart/index.ts";
import { address, filledCart, newKey } from "../test-support.ts";
import { idempotencyRecordKey } from "./idempotency.ts";
import { CheckoutStore } from "./store.ts";

const redis = () => redisClient(env, { raw: true });

const placed = (cartId: string, orderId: string) =>
  OrderPlacedSchema.parse({
    eventId: `order-placed:${orderId}`,
    orderId,
    cartId,
    email: "ada@example.com",
    items: [{ productId: "prod_0000030", sku: "SKU-30", name: "Thirty", qty: 1, unitPriceCents: 100 }],
    subtotalCents: 100,
    currency: "USD",
    paymentToken: "tok_visa",
    shippingAddress: address,
    placedAt: new Date().toISOString(),
  });

const orderOf = (orderId: string): Order => ({
  orderId,
  status: "pending",
  email: "ada@example.com",
  items: [],
  subtotalCents: 100,
  currency: "USD",
  createdAt: new Date().toISOString(),
  updatedAt: new Date().toISOString(),
});

/** Ends the leases of the running checkout on `key` and `cartId`, as if its holder had stalled past them. */
const expireLeases = async (key: string, cartId: string) => {
  const recordKey = await idempotencyRecordKey(key);
  const record = JSON.parse((await redis().get<string>(recordKey)) ?? "{}") as Record<string, unknown>;
  await redis().set(recordKey, JSON.stringify({ ...record, leaseUntil: 0 }));
  await redis().hset(cartKey(cartId), { "#e": "0" });
};

describe("CheckoutStore", () => {
  it("fences a holder that outlived its lease: its freeze is refused and its finish ignored", async () => {
    const cartId = await filledCart([["prod_0000030", 1]]);
    const key = newKey();
    const slow = await CheckoutStore.open(redis(), key, cartId);
    const first = await slow.begin("fingerprint");
    expect(first.kind).toBe("fresh");
    await expireLeases(key, cartId);

    const retry = await CheckoutStore.open(redis(), key, cartId);
    const second = await retry.begin("fingerprint");
    if (second.kind !== "fresh" || first.kind !== "fresh") throw new Error("expected fresh checkouts");
    expect(await slow.freeze(first.version, placed(cartId, "ord_slow"))).toBe("fenced");
    expect(await retry.freeze(second.version, placed(cartId, "ord_retry"))).toBe("frozen");

    // The late finisher: neither the key's answer nor the cart is its to settle.
    expect(await slow.complete(orderOf("ord_slow"))).toBeNull();
    const record = JSON.parse((await redis().get<string>(await idempotencyRecordKey(key))) ?? "{}");
    expect(record).toMatchObject({ state: "running", owner: retry.owner });
    expect(await redis().hget(cartKey(cartId), "#o")).toBe("ord_retry");

    expect(await retry.complete(orderOf("ord_retry"))).toMatchObject({ lines: [], lastOrderId: "ord_retry" });
    const again = await CheckoutStore.open(redis(), key, cartId);
    expect(await again.begin("fingerprint")).toMatchObject({
      kind: "replay",
      order: { orderId: "ord_retry" },
    });
  });

  it("lets one checkout hold a cart: another key is busy until the holder releases", async () => {
    const cartId = await filledCart([["prod_0000031", 1]]);
    const holder = await CheckoutStore.open(redis(), newKey(), cartId);
    expect((await holder.begin("a")).kind).toBe("fresh");
    const other = await CheckoutStore.open(redis(), newKey(), cartId);
    expect(await other.begin("b")).toEqual({ kind: "busy" });
    await holder.release();
    expect((await other.begin("b")).kind).toBe("fresh");
  });

  it("answers a frozen cart's order to whoever takes it next, and never a second order", async () => {
    const cartId = await filledCart([["prod_0000032", 1]]);
    const first = await CheckoutStore.open(redis(), newKey(), cartId);
    const begun = await first.begin("a");
    if (begun.kind !== "fresh") throw new Error("expected a fresh checkout");
    const event = placed(cartId, "ord_frozen");
    expect(await first.freeze(begun.version, event)).toBe("frozen");
    await first.release();

    const next = await CheckoutStore.open(redis(), newKey(), cartId);
    expect(await next.begin("b")).toEqual({ kind: "resume", event });
  });

  it("prices again when the cart changed after it was read", async () => {
    const cartId = await filledCart([["prod_0000033", 1]]);
    const store = await CheckoutStore.open(redis(), newKey(), cartId);
    const begun = await store.begin("a");
    if (begun.kind !== "fresh") throw new Error("expected a fresh checkout");
    await redis().hset(cartKey(cartId), { "#t": String(Number(begun.version) + 1) });
    expect(await store.freeze(begun.version, placed(cartId, "ord_stale"))).toBe("changed");
    expect(await redis().hget(cartKey(cartId), "#o")).toBeNull();
  });
});
