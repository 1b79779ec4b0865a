import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { OrderPlacedSchema } from "../../../../domain/events.ts";
import type { Order } from "../../../../domain/orders.ts";
import { cartKey } from "../../../edge/cart/index.ts";
import { StockCounter } from "../../../edge/stock/counter.ts";
import { dbClient, redisClient } from "../../../platform/clients.ts";
import { address, filledCart, newKey } from "../test-support.ts";
import { idempotencyRecordKey } from "./idempotency.ts";
import { CheckoutStore } from "./store.ts";

const redis = () => redisClient(env, { raw: true });
const HOLD_MS = 60_000;

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

const counter = () => new StockCounter(redis(), () => dbClient(env));

describe("CheckoutStore", () => {
  it("fences a holder that outlived its lease: its freeze is refused and its finish ignored", async () => {
    const cartId = await filledCart([["prod_0000030", 1]]);
    await counter().load(["prod_0000030"]);
    const key = newKey();
    const slow = await CheckoutStore.open(redis(), key, cartId);
    const first = await slow.begin("fingerprint");
    expect(first.kind).toBe("fresh");
    await expireLeases(key, cartId);

    const retry = await CheckoutStore.open(redis(), key, cartId);
    const second = await retry.begin("fingerprint");
    if (second.kind !== "fresh" || first.kind !== "fresh") throw new Error("expected fresh checkouts");
    expect(await slow.freeze(first.version, placed(cartId, "ord_slow"), HOLD_MS)).toEqual({ kind: "fenced" });
    expect(await retry.freeze(second.version, placed(cartId, "ord_retry"), HOLD_MS)).toEqual({
      kind: "frozen",
    });

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
    await counter().load(["prod_0000030"]);
    const first = await CheckoutStore.open(redis(), newKey(), cartId);
    const begun = await first.begin("a");
    if (begun.kind !== "fresh") throw new Error("expected a fresh checkout");
    const event = placed(cartId, "ord_frozen");
    expect(await first.freeze(begun.version, event, HOLD_MS)).toEqual({ kind: "frozen" });
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
    expect(await store.freeze(begun.version, placed(cartId, "ord_stale"), HOLD_MS)).toEqual({
      kind: "changed",
    });
    expect(await redis().hget(cartKey(cartId), "#o")).toBeNull();
  });

  it("holds stock with the freeze, all or nothing, and names what is short", async () => {
    const cartId = await filledCart([["prod_0000034", 1]]);
    const store = await CheckoutStore.open(redis(), newKey(), cartId);
    const begun = await store.begin("a");
    if (begun.kind !== "fresh") throw new Error("expected a fresh checkout");
    const order = (orderId: string, lines: Array<[string, number]>) => ({
      ...placed(cartId, orderId),
      items: lines.map(([productId, qty]) => ({ productId, sku: "SKU", name: "N", qty, unitPriceCents: 1 })),
    });
    await counter().sync([
      { variantId: "stock_a", available: 5, version: 1 },
      { variantId: "stock_b", available: 1, version: 1 },
    ]);

    const unknown = await store.freeze(begun.version, order("ord_u", [["stock_never_loaded", 1]]), HOLD_MS);
    expect(unknown).toEqual({ kind: "unknown", variantIds: ["stock_never_loaded"] });
    const short = await store.freeze(
      begun.version,
      order("ord_s", [
        ["stock_a", 2],
        ["stock_b", 2],
      ]),
      HOLD_MS,
    );
    expect(short).toEqual({ kind: "short", items: [{ variantId: "stock_b", requested: 2, available: 1 }] });
    // Nothing was held by the refused freeze.
    expect(await counter().available(["stock_a", "stock_b"])).toEqual(
      new Map([
        ["stock_a", 5],
        ["stock_b", 1],
      ]),
    );
    const frozen = await store.freeze(
      begun.version,
      order("ord_ok", [
        ["stock_a", 2],
        ["stock_b", 1],
      ]),
      HOLD_MS,
    );
    expect(frozen).toEqual({ kind: "frozen" });
    expect(await counter().available(["stock_a", "stock_b"])).toEqual(
      new Map([
        ["stock_a", 3],
        ["stock_b", 0],
      ]),
    );
  });
});
