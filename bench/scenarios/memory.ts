import { Redis } from "ioredis";
import { seedProductId } from "../../db/seed-data.ts";
import { cartKey } from "../../workers/edge/cart/store.ts";
import { productKey } from "../../workers/edge/catalog/service.ts";
import { inBatches, range, type Scenario } from "./types.ts";

const MB = 1024 * 1024;
/** The design's estimates (ARCHITECTURE.md). */
const ESTIMATE = { carts: { count: 100_000, mb: 100 }, products: { count: 1_000_000, mb: 500 } };

/**
 * Scenario 5: Redis bytes per cart (1, 5 and 20 lines) and per cached product, made through the
 * API as shoppers make them, measured with MEMORY USAGE per key and with the growth of
 * `used_memory` (which includes Redis's per-key overhead), then extrapolated.
 */
export const memory: Scenario = async ({ env, api, quick, log }) => {
  const perSize = quick ? 10 : 200;
  const products = quick ? 50 : 1_000;
  const redis = new Redis(env.redisUrl);
  const usedMemory = async () => Number(/used_memory:(\d+)/.exec(await redis.info("memory"))?.[1] ?? 0);
  const keyBytes = async (key: string) => Number((await redis.memory("USAGE", key, "SAMPLES", 0)) ?? 0);
  const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / Math.max(1, values.length);

  log(`reading ${products} products to cache them`);
  const ids = range(products).map((i) => seedProductId(i));
  await inBatches(ids, 32, async (id) => {
    const res = await fetch(`${env.url}/v1/products/${id}`);
    if (!res.ok) throw new Error(`product ${id}: ${res.status}`);
  });
  const productBytes = (await Promise.all(ids.map((id) => keyBytes(productKey(id))))).filter((n) => n > 0);
  const perProduct = Math.round(mean(productBytes));
  // Carts hold only products cached above, so the growth of used_memory is the carts' own.
  const carts: Array<{ lines: number; perKey: number; perCartUsed: number }> = [];
  for (const lines of [1, 5, 20]) {
    log(`${perSize} carts of ${lines} lines`);
    const before = await usedMemory();
    const ids = await inBatches(range(perSize), 16, async (i) => {
      const cartId = await api.cartWith(seedProductId(i % products), 1);
      for (let line = 1; line < lines; line++) {
        const res = await fetch(`${env.url}/v1/carts/${cartId}/items`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({
            productId: seedProductId((i + line * 13) % products),
            qty: 1 + (line % 3),
          }),
        });
        if (!res.ok) throw new Error(`add item: ${res.status} ${await res.text()}`);
      }
      return cartId;
    });
    const after = await usedMemory();
    const perKey = mean(await Promise.all(ids.map((id) => keyBytes(cartKey(id)))));
    carts.push({ lines, perKey: Math.round(perKey), perCartUsed: Math.round((after - before) / perSize) });
  }

  redis.disconnect();

  const fiveLines = carts.find((c) => c.lines === 5);
  const cartMb = ((fiveLines?.perCartUsed ?? 0) * ESTIMATE.carts.count) / MB;
  const productMb = (perProduct * ESTIMATE.products.count) / MB;
  return {
    id: "memory",
    title: "Memory in Redis",
    conditions: {
      "carts per size": perSize,
      "products cached": `${products} (seed products, read once each through the storefront)`,
      measure: "MEMORY USAGE key SAMPLES 0, and used_memory growth per cart",
    },
    headlines: [
      `A 5-line cart takes ~${fiveLines?.perCartUsed ?? "?"} bytes (100K carts ≈ ${cartMb.toFixed(0)} MB vs the design's ~${ESTIMATE.carts.mb} MB); a cached product ~${perProduct} bytes (1M SKUs ≈ ${productMb.toFixed(0)} MB vs ~${ESTIMATE.products.mb} MB).`,
    ],
    tables: [
      {
        title: "Bytes per cart",
        columns: [
          "lines",
          "MEMORY USAGE per key",
          "used_memory growth per cart",
          `× ${ESTIMATE.carts.count.toLocaleString("en")} carts (MB)`,
        ],
        rows: carts.map((c) => [
          c.lines,
          c.perKey,
          c.perCartUsed,
          ((c.perCartUsed * ESTIMATE.carts.count) / MB).toFixed(1),
        ]),
        note: "A cart is one hash: a field per product with its quantity, plus its last-change time and currency; its TTL is 7 days.",
      },
      {
        title: "Bytes per cached product",
        columns: [
          "products measured",
          "MEMORY USAGE per key (mean)",
          `× ${ESTIMATE.products.count.toLocaleString("en")} SKUs (MB)`,
          "design estimate (MB)",
        ],
        rows: [[productBytes.length, perProduct, productMb.toFixed(0), ESTIMATE.products.mb]],
        note: "The catalog cache holds the product JSON (with image URLs) with its Postgres version and fetch time under cat:pv:<id>; list pages and categories are cached separately and are not counted here.",
      },
    ],
    checks: [
      {
        name: "every product read was cached in Redis",
        ok: productBytes.length === products,
        detail: `${productBytes.length}/${products}`,
      },
    ],
    data: { carts, perProduct, productsMeasured: productBytes.length },
  };
};
