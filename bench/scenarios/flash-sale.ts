import { Redis } from "ioredis";
import { uniqueProductId } from "../../e2e/support/api.ts";
import { productKey } from "../../workers/edge/catalog/service.ts";
import { httpLoad, type LoadResult } from "../load.ts";
import { pgStats, type QueryCount } from "./pg-stats.ts";
import { LOAD_COLUMNS, loadCells, type Scenario } from "./types.ts";

interface Phase {
  phase: string;
  load: LoadResult;
  queries: QueryCount;
}

/**
 * Scenario 2: a flash sale on one product, a T-shirt in 3 sizes and 2 colours (6 variants, each with
 * its price and stock). `requests` reads of its page at high concurrency, first with nothing cached
 * anywhere (a product nobody has read), then warm, then warm with a price change of its cheapest
 * variant half way through. Counts the queries that reached PostgreSQL for each, and after the price
 * change, how many answers still had the old price and for how long.
 */
export const flashSale: Scenario = async ({ env, api, quick, log }) => {
  const requests = quick ? 500 : 10_000;
  const connections = quick ? 64 : 256;
  const stats = pgStats(env.databaseUrl);
  const productId = uniqueProductId("bench_flash");
  const oldPrice = 4_999;
  const newPrice = 3_999;
  const variants = ["S", "M", "L"].flatMap((size, s) =>
    ["Red", "Blue"].map((colour, c) => ({
      variantId: `${productId}-${size}-${colour}`.toLowerCase(),
      sku: `FLASH-${productId}-${size}-${colour}`.slice(0, 64),
      options: { Size: size, Colour: colour },
      priceCents: oldPrice + (s * 2 + c) * 100,
    })),
  );
  // The product's price is its cheapest variant's: the first one's, which the change lowers.
  const product = (cheapest: number) => ({
    name: "Flash sale tee",
    description: "a T-shirt in three sizes and two colours",
    currency: "USD",
    category: "bench",
    options: [
      { name: "Size", values: ["S", "M", "L"] },
      { name: "Colour", values: ["Red", "Blue"] },
    ],
    variants: variants.map((v, i) => (i === 0 ? { ...v, priceCents: cheapest } : v)),
  });
  await api.putProductBody(productId, product(oldPrice));
  for (const variant of variants) await api.setStock(variant.variantId, 1_000);
  const path = `/v1/products/${productId}`;

  // Price change half way through: how long do old prices keep being served?
  let changedAt = 0;
  let staleAfterChange = 0;
  let lastStaleMs = 0;
  const observe = (status: number, body: string) => {
    if (status !== 200 || changedAt === 0) return;
    const price = (JSON.parse(body) as { priceCents: number }).priceCents;
    if (price === oldPrice) {
      staleAfterChange++;
      lastStaleMs = performance.now() - changedAt;
    }
  };
  const phases: Phase[] = [];
  const measure = async (phase: string, during?: (answered: () => number) => void): Promise<Phase> => {
    log(`${phase}: ${requests} requests at ${connections} connections`);
    await stats.reset();
    let answered = 0;
    const load = httpLoad({
      url: env.url,
      connections,
      amount: requests,
      requests: [
        {
          method: "GET",
          path,
          onResponse: (status, body) => {
            answered++;
            if (during) observe(status, body);
          },
        },
      ],
    });
    during?.(() => answered);
    const result = { phase, load: await load, queries: await stats.count() };
    phases.push(result);
    return result;
  };

  // A product never read, and out of Redis (the admin write went through to it): nothing cached.
  const redis = new Redis(env.redisUrl);
  await redis.del(productKey(productId));
  redis.disconnect();
  await measure("cold");
  await measure("warm");

  let sentAt = 0;
  let answeredAtChange = 0;
  await measure("price change mid-run", (answered) => {
    const timer = setInterval(() => {
      if (answered() < requests / 2) return;
      clearInterval(timer);
      sentAt = answered();
      void api.putProductBody(productId, product(newPrice)).then(() => {
        changedAt = performance.now();
        answeredAtChange = answered();
      });
    }, 5);
  });
  const read = (await (await fetch(`${env.url}${path}`)).json()) as {
    priceCents: number;
    variants: { inStock: boolean }[];
  };
  const after = read.priceCents;
  await stats.close();

  const byPhase = (name: string) => phases.find((p) => p.phase === name);
  const cold = byPhase("cold");
  const warm = byPhase("warm");
  return {
    id: "flash-sale",
    title: "Flash sale on one product",
    conditions: {
      requests: `${requests} per phase`,
      connections,
      product:
        "one product created for the run, 6 variants (3 sizes × 2 colours, each stocked); cold: never read, and its Redis entry deleted",
      "price change": `its cheapest variant ${oldPrice} → ${newPrice} cents through the admin API once half the requests were answered`,
    },
    headlines: [
      `${requests} reads at ${connections} connections: cold ${cold?.load.rps} req/s with ${cold?.queries.catalog} catalog queries in Postgres, warm ${warm?.load.rps} req/s (p99 ${warm?.load.p99Ms} ms) with ${warm?.queries.catalog}; after a price change ${staleAfterChange} answers still had the old price, the last ${(lastStaleMs / 1000).toFixed(1)} s after the change.`,
    ],
    tables: [
      {
        title: "Product page reads",
        columns: ["phase", ...LOAD_COLUMNS, "catalog queries", "all queries"],
        rows: phases.map((p) => [p.phase, ...loadCells(p.load), p.queries.catalog, p.queries.all]),
        note: "Queries are counted by pg_stat_statements on the benchmark's PostgreSQL; 'all' includes the consumers' own work (outbox polling) in the same interval. The price change itself is one write and its read-back.",
      },
      {
        title: "After the price change",
        columns: [
          "change sent after answer #",
          "acknowledged after answer #",
          "old-price answers after the acknowledgement",
          "last one after (s)",
          "price read after the run",
        ],
        rows: [
          [
            sentAt,
            answeredAtChange || "after the run",
            staleAfterChange,
            (lastStaleMs / 1000).toFixed(2),
            after,
          ],
        ],
        note: "The admin write goes through to Postgres and the Redis catalog cache; the edge cache (Cache API) keeps a copy for at most CATALOG_MAX_AGE_SECONDS.",
      },
    ],
    checks: [
      {
        name: "no failed product reads",
        ok: phases.every((p) => p.load.errors === 0 && p.load.non2xx === 0),
        detail: phases.map((p) => `${p.phase}: ${JSON.stringify(p.load.statusCounts)}`).join("; "),
      },
      { name: "the new price is served after the run", ok: after === newPrice, detail: `${after}` },
      {
        name: "the product is answered with its 6 variants, all in stock",
        ok: read.variants.length === 6 && read.variants.every((v) => v.inStock),
        detail: `${read.variants.length} variants`,
      },
    ],
    data: { phases, staleAfterChange, lastStaleMs, priceAfter: after },
  };
};
