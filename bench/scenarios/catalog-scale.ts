import type autocannon from "autocannon";
import { seedCatalog } from "../../db/seed.ts";
import { SEED_CATEGORIES, seedProductId } from "../../db/seed-data.ts";
import { httpLoad, type LoadResult } from "../load.ts";
import { LOAD_COLUMNS, loadCells, type Scenario } from "./types.ts";

const WORDS = [
  "mug",
  "lamp",
  "backpack",
  "ceramic",
  "walnut",
  "wireless",
  "vintage",
  "leather",
  "bottle",
  "oak",
];
const pick = <T>(items: readonly T[]): T => items[Math.floor(Math.random() * items.length)] as T;

type Reads = Record<"product" | "category" | "search", LoadResult>;

/**
 * Scenario 6: the catalog at a million products. Seeds 1,000,000 products (rate), then reads
 * random product pages (mostly cache misses, so Postgres by primary key), category pages and
 * full-text searches, with the seed catalog (1,000) and again with the million in place.
 */
export const catalogAtScale: Scenario = async ({ env, quick, log }) => {
  const target = quick ? 10_000 : 1_000_000;
  const connections = 64;
  const durationS = quick ? 1 : 8;
  const reads = async (catalogSize: number): Promise<Reads> => {
    const randomRequest = (path: () => string): autocannon.Request[] => [
      { method: "GET", setupRequest: (request) => ({ ...request, path: path() }) },
    ];
    const run = (path: () => string) =>
      httpLoad({ url: env.url, connections, durationS, requests: randomRequest(path) });
    log(`reads with ${catalogSize.toLocaleString("en")} products`);
    return {
      product: await run(() => `/v1/products/${seedProductId(Math.floor(Math.random() * catalogSize))}`),
      category: await run(() => `/v1/products?category=${pick(SEED_CATEGORIES).slug}&limit=20`),
      search: await run(() => `/v1/products?q=${pick(WORDS)}%20${pick(WORDS)}&limit=20`),
    };
  };

  const before = await reads(1_000);
  log(`seeding ${target.toLocaleString("en")} products`);
  let lastShown = 0;
  const t0 = performance.now();
  await seedCatalog(env.databaseUrl, {
    count: target,
    onProgress: (done, total) => {
      if (done - lastShown >= total / 10 || done === total) {
        lastShown = done;
        log(`  ${done.toLocaleString("en")} / ${total.toLocaleString("en")}`);
      }
    },
  });
  const seedS = (performance.now() - t0) / 1000;
  const rate = Math.round(target / seedS);
  const after = await reads(target);

  const kinds = ["product", "category", "search"] as const;
  const label = {
    product: "product page (random id)",
    category: "category page",
    search: "full-text search (two words)",
  };
  return {
    id: "catalog-scale",
    title: "Catalog at scale",
    conditions: {
      products: target.toLocaleString("en"),
      connections,
      "run per read kind (s)": durationS,
      seed: "db/seed.ts: deterministic products, unnest batches of 5,000, one connection",
    },
    headlines: [
      `Seeded ${target.toLocaleString("en")} products in ${seedS.toFixed(0)} s (${rate.toLocaleString("en")}/s). With them in place, product page p99 ${after.product.p99Ms} ms (was ${before.product.p99Ms} ms at 1,000), category page p99 ${after.category.p99Ms} ms, search p99 ${after.search.p99Ms} ms (was ${before.search.p99Ms} ms).`,
    ],
    tables: [
      {
        title: "Seeding",
        columns: ["products", "seconds", "products per second"],
        rows: [[target.toLocaleString("en"), seedS.toFixed(1), rate]],
      },
      {
        title: "Catalog reads: 1,000 products, then the full catalog",
        columns: ["read", "catalog", ...LOAD_COLUMNS],
        rows: kinds.flatMap((kind) => [
          [label[kind], "1,000", ...loadCells(before[kind])],
          [label[kind], target.toLocaleString("en"), ...loadCells(after[kind])],
        ]),
        note: "Product ids are drawn at random, so with a million products nearly every read misses both caches and reads Postgres; with 1,000 most are cached after the first seconds. Category pages and searches are cached per query for CATALOG_LIST_FRESH_SECONDS.",
      },
    ],
    checks: [
      {
        name: "no failed catalog reads",
        ok: [...Object.values(before), ...Object.values(after)].every(
          (r) => r.errors === 0 && r.non2xx === 0,
        ),
        detail: kinds.map((k) => `${k}: ${JSON.stringify(after[k].statusCounts)}`).join("; "),
      },
    ],
    data: { target, seedS, rate, before, after },
  };
};
