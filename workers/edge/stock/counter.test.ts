import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { CLOCK } from "../../../domain/redis-lua.ts";
import { SETTLE_ORDER_STOCK, STOCK_LUA, stockKey } from "../../../domain/stock-counter.ts";
import { dbClient, redisClient } from "../../platform/clients.ts";
import { redisScript } from "../../platform/scripts.ts";
import { levelArgs, StockCounter } from "./counter.ts";

const redis = () => redisClient(env, { raw: true });
const counter = () => new StockCounter(redis(), () => dbClient(env));
const unique = (name: string) => `${name}_${crypto.randomUUID().slice(0, 8)}`;

/** Holds `qty` of `productId` for `orderId` for `ms`, as checkout's freeze does. */
const hold = (productId: string, orderId: string, qty: number, ms: number) =>
  redisScript(
    redis(),
    `${CLOCK}
${STOCK_LUA}
stock_hold(ARGV[1], ARGV[2], tonumber(ARGV[3]), now + tonumber(ARGV[4]), now)
return 1`,
  ).exec([], [productId, orderId, String(qty), String(ms)]);

const settleOrder = (orderId: string, levels: Parameters<typeof levelArgs>[0] = []) =>
  redisScript(redis(), SETTLE_ORDER_STOCK).exec([], [orderId, "60000", ...levelArgs(levels)]);

describe("the edge stock counter", () => {
  it("loads a product's level from Postgres on first use", async () => {
    const available = await counter().available(["prod_0000040", "no_such_product"]);
    const [row] = await dbClient(env)
      .execute<{ available: number }>("select available from inventory where variant_id = 'prod_0000040'")
      .then((r) => r.rows);
    expect(available).toEqual(
      new Map([
        ["prod_0000040", row?.available],
        ["no_such_product", 0],
      ]),
    );
  });

  it("subtracts live holds, and gives a hold back at its expiry", async () => {
    const product = unique("hold");
    await counter().sync([{ variantId: product, available: 10, version: 1 }]);
    await hold(product, "ord_a", 3, 60_000);
    await hold(product, "ord_b", 2, 150);
    expect((await counter().available([product])).get(product)).toBe(5);
    await expect.poll(async () => (await counter().available([product])).get(product)).toBe(7);
  });

  it("converts a hold when Postgres reserves the order, and releases one its order never used", async () => {
    const product = unique("convert");
    await counter().sync([{ variantId: product, available: 10, version: 1 }]);
    await hold(product, "ord_c", 4, 60_000);
    await hold(product, "ord_d", 1, 60_000);
    // Postgres reserved ord_c: its available fell by 4 (version 2) and the hold is converted.
    await settleOrder("ord_c", [{ variantId: product, available: 6, version: 2 }]);
    expect((await counter().available([product])).get(product)).toBe(5);
    // ord_d was cancelled before Postgres reserved anything: its hold is released.
    await settleOrder("ord_d");
    expect((await counter().available([product])).get(product)).toBe(6);
    // Replays change nothing.
    await settleOrder("ord_c", [{ variantId: product, available: 6, version: 2 }]);
    await settleOrder("ord_d");
    expect((await counter().available([product])).get(product)).toBe(6);
  });

  it("never lets an older Postgres level replace a newer one", async () => {
    const product = unique("version");
    await counter().sync([{ variantId: product, available: 3, version: 5 }]);
    await counter().sync([{ variantId: product, available: 9, version: 4 }]);
    expect((await counter().available([product])).get(product)).toBe(3);
  });

  it("is repaired from Postgres when deleted or set wrong, keeping the holds still live", async () => {
    const product = "prod_0000041";
    await counter().load([product]);
    const before = (await counter().available([product])).get(product) ?? 0;
    await hold(product, "ord_e", 2, 60_000);
    await redis().del(stockKey(product));
    expect((await counter().available([product])).get(product)).toBe(before - 2);
    await redis().hset(stockKey(product), { pg: "100000" });
    await redis().pexpire(stockKey(product), 1);
    await expect.poll(async () => (await counter().available([product])).get(product)).toBe(before - 2);
    await settleOrder("ord_e");
  });
});
