import { Redis } from "ioredis";
import { afterAll, describe, expect, inject, it } from "vitest";
import { ORDER_STATUS_TTL_SECONDS, orderStatusKey } from "../../../domain/orders.ts";
import { uniqueId } from "../test-support/handler-harness.ts";
import { createRedisOrderStatusCache, type StatusRedis } from "./order-status-cache.ts";

const redis = new Redis(inject("stack").redisUrl);
afterAll(() => redis.quit());
const cache = createRedisOrderStatusCache(redis);

const record = (orderId: string) => ({
  orderId,
  status: "pending" as const,
  email: "buyer@example.com",
  items: [
    {
      productId: "p1",
      variantId: "p1",
      sku: "p1",
      name: "Thing",
      options: {},
      qty: 1,
      unitPriceCents: 123456789012345,
      lineTotalCents: 123456789012345,
    },
  ],
  subtotalCents: 123456789012345,
  currency: "USD" as const,
  createdAt: "2026-01-01T00:00:00.000Z",
  updatedAt: "2026-01-01T00:00:00.000Z",
  extra: [],
});
const store = async (orderId: string, value: unknown = record(orderId)) => {
  await redis.set(orderStatusKey(orderId), JSON.stringify(value), "EX", ORDER_STATUS_TTL_SECONDS);
};
const read = async (orderId: string): Promise<unknown> => {
  const raw = await redis.get(orderStatusKey(orderId));
  return raw === null ? null : JSON.parse(raw);
};
const at = "2026-01-02T03:04:05.000Z";

describe("order status record in Redis", () => {
  it("rewrites status, reason and updatedAt, keeping every other field exactly, and the TTL", async () => {
    const orderId = uniqueId("ord");
    await store(orderId);
    await expect(
      cache.writeStatus(orderId, { status: "cancelled", reason: "out_of_stock", updatedAt: at }),
    ).resolves.toBe("updated");
    expect(await read(orderId)).toEqual({
      ...record(orderId),
      status: "cancelled",
      reason: "out_of_stock",
      updatedAt: at,
    });
    expect(await redis.ttl(orderStatusKey(orderId))).toBeGreaterThan(ORDER_STATUS_TTL_SECONDS - 60);
  });

  it("drops the reason on confirmed, and answers unchanged when repeated", async () => {
    const orderId = uniqueId("ord");
    await store(orderId, { ...record(orderId), reason: "out_of_stock" });
    await cache.writeStatus(orderId, { status: "confirmed", updatedAt: at });
    await expect(cache.writeStatus(orderId, { status: "confirmed", updatedAt: at })).resolves.toBe(
      "unchanged",
    );
    expect(await read(orderId)).toEqual({ ...record(orderId), status: "confirmed", updatedAt: at });
  });

  it("creates a missing record from the loaded order, with the TTL, only while it is missing", async () => {
    const orderId = uniqueId("ord");
    const { extra: _extra, ...order } = record(orderId);
    const load = async () => order;
    await expect(
      cache.writeStatus(orderId, { status: "cancelled", reason: "out_of_stock", updatedAt: at }, load),
    ).resolves.toBe("created");
    expect(await read(orderId)).toEqual({
      ...order,
      status: "cancelled",
      reason: "out_of_stock",
      updatedAt: at,
    });
    expect(await redis.ttl(orderStatusKey(orderId))).toBeGreaterThan(ORDER_STATUS_TTL_SECONDS - 60);
    // Postgres without the order: nothing to write.
    const unknown = uniqueId("ord");
    await expect(
      cache.writeStatus(unknown, { status: "confirmed", updatedAt: at }, async () => null),
    ).resolves.toBe("missing");
    expect(await redis.exists(orderStatusKey(unknown))).toBe(0);
  });

  it("updates, not overwrites, a record written between its miss and its create", async () => {
    const orderId = uniqueId("ord");
    let interfered = false;
    const racing: StatusRedis = {
      get: redis.get.bind(redis),
      eval: redis.eval.bind(redis),
      set: (async (...args: Parameters<Redis["set"]>) => {
        if (!interfered) {
          interfered = true;
          await store(orderId, { ...record(orderId), note: "checkout's pending record" });
        }
        return redis.set(...args);
      }) as StatusRedis["set"],
    };
    const { extra: _extra, ...order } = record(orderId);
    await expect(
      createRedisOrderStatusCache(racing).writeStatus(
        orderId,
        { status: "confirmed", updatedAt: at },
        async () => ({
          ...order,
          status: "pending",
        }),
      ),
    ).resolves.toBe("updated");
    expect(await read(orderId)).toEqual({
      ...record(orderId),
      note: "checkout's pending record",
      status: "confirmed",
      updatedAt: at,
    });
  });

  it("never moves a record back along the lifecycle: a late confirmed leaves shipped and cancelled alone", async () => {
    const orderId = uniqueId("ord");
    const shipment = { carrier: "SimPost", trackingNumber: "SP1", shippedAt: at };
    await store(orderId);
    await expect(cache.writeStatus(orderId, { status: "shipped", shipment, updatedAt: at })).resolves.toBe(
      "updated",
    );
    await expect(cache.writeStatus(orderId, { status: "confirmed", updatedAt: at })).resolves.toBe("stale");
    expect(await read(orderId)).toMatchObject({ status: "shipped", shipment });
    const other = uniqueId("ord");
    await store(other, { ...record(other), status: "cancelled", reason: "cancelled_by_merchant" });
    await expect(cache.writeStatus(other, { status: "fulfilling", updatedAt: at })).resolves.toBe("stale");
    // Created from Postgres when missing: a write behind what Postgres says writes what Postgres says.
    const missing = uniqueId("ord");
    const loaded = { ...record(missing), status: "shipped" as const, shipment };
    await expect(
      cache.writeStatus(missing, { status: "confirmed", updatedAt: at }, async () => loaded),
    ).resolves.toBe("created");
    expect(await read(missing)).toEqual(loaded);
  });

  it("leaves a missing record missing without a loader", async () => {
    const orderId = uniqueId("ord");
    await expect(cache.writeStatus(orderId, { status: "confirmed", updatedAt: at })).resolves.toBe("missing");
    expect(await redis.exists(orderStatusKey(orderId))).toBe(0);
  });

  it("deletes a record that is not an Order, so readers fall back to Postgres", async () => {
    const orderId = uniqueId("ord");
    await redis.set(orderStatusKey(orderId), "not json");
    await expect(cache.writeStatus(orderId, { status: "confirmed", updatedAt: at })).resolves.toBe("dropped");
    expect(await redis.exists(orderStatusKey(orderId))).toBe(0);
  });

  it("never loses a field another writer changed between its read and its write", async () => {
    const orderId = uniqueId("ord");
    await store(orderId);
    let interfered = false;
    const racing: StatusRedis = {
      get: async (key: string) => {
        const value = await redis.get(key);
        if (!interfered) {
          interfered = true;
          await redis.set(
            key,
            JSON.stringify({ ...record(orderId), note: "written concurrently" }),
            "KEEPTTL",
          );
        }
        return value;
      },
      eval: redis.eval.bind(redis),
      set: redis.set.bind(redis),
    };
    await expect(
      createRedisOrderStatusCache(racing).writeStatus(orderId, { status: "confirmed", updatedAt: at }),
    ).resolves.toBe("updated");
    expect(await read(orderId)).toEqual({
      ...record(orderId),
      note: "written concurrently",
      status: "confirmed",
      updatedAt: at,
    });
  });
});
