import type { MiddlewareHandler } from "hono";
import { nextPriceChange, type Product, productAt } from "../../../edge/catalog/index.ts";
import { readStockLevels, type StockCounter, stockCounter } from "../../../edge/stock/index.ts";
import { dbClient, type EdgeDb, type ServiceBindings } from "../../../platform/clients.ts";
import { log } from "../../../platform/log.ts";
import type { StorefrontEnv } from "../env.ts";

/** How long an isolate reuses a product's availability: answers lag the counter by at most this. */
const AVAILABILITY_FRESH_MS = 1_000;
const MAX_REMEMBERED = 10_000;
const remembered = new Map<string, { units: number; at: number }>();

/** Drops what this isolate remembers of variants' availability (after a stock write it made). */
export const forgetAvailability = (variantIds: readonly string[]): void => {
  for (const id of variantIds) remembered.delete(id);
};

/**
 * Units checkout may still hold per variant: from the edge stock counter (reused within this isolate
 * for under a second, so a flash sale's reads cost one counter read per product per second), from
 * Postgres when Redis fails, and `null` when neither answers.
 */
export const readAvailability = async (
  counter: StockCounter,
  db: () => EdgeDb,
  variantIds: readonly string[],
  now = Date.now(),
): Promise<Map<string, number | null>> => {
  const result = new Map<string, number | null>();
  const missing: string[] = [];
  for (const id of new Set(variantIds)) {
    const known = remembered.get(id);
    if (known && now - known.at < AVAILABILITY_FRESH_MS) result.set(id, known.units);
    else missing.push(id);
  }
  if (missing.length === 0) return result;
  let levels = new Map<string, number>();
  try {
    levels = await counter.available(missing);
  } catch (counterError) {
    try {
      levels = new Map((await readStockLevels(db(), missing)).map((l) => [l.variantId, l.available]));
    } catch (error) {
      log("warn", "availability unknown: neither the stock counter nor Postgres answered", {
        error,
        counterError,
      });
    }
  }
  if (remembered.size > MAX_REMEMBERED) remembered.clear();
  for (const id of missing) {
    const units = levels.get(id);
    if (units !== undefined) remembered.set(id, { units, at: now });
    result.set(id, units ?? null);
  }
  return result;
};

/**
 * `inStock` (and `availableQty` at or below `threshold`) for a product. Unknown availability (the
 * counter and Postgres both down) shows as in stock: checkout still answers out_of_stock exactly.
 */
export const availabilityOf = (units: number | null, threshold: number) => {
  if (units === null) return { inStock: true };
  const left = Math.max(0, units);
  return left <= threshold ? { inStock: left > 0, availableQty: left } : { inStock: true };
};

const lowStockThreshold = (value: string | undefined): number => {
  const parsed = Number(value);
  return value !== undefined && value !== "" && Number.isInteger(parsed) && parsed >= 0 ? parsed : 5;
};

/**
 * Availability may be a second old: `max-age` and `stale-while-revalidate` are capped at `atMost`
 * seconds (1, and 0 when a price changes within the two seconds a downstream cache could then keep
 * the answer).
 */
export const capFreshness = (cacheControl: string | null, atMost = 1): string | null =>
  cacheControl?.replace(
    /\b(max-age|stale-while-revalidate)=(\d+)/g,
    (_all, name: string, seconds: string) => `${name}=${Math.min(Number(seconds), atMost)}`,
  ) ?? null;

/**
 * The products as answers show them now: priced at this moment (see `productAt`), each variant with
 * its live availability (`inStock`, and `availableQty` when stock is low), and the product in stock
 * when any variant is (`availableQty`: the units of all its variants, when that is low).
 */
export const withStock = async (
  env: ServiceBindings & { LOW_STOCK_THRESHOLD?: string },
  products: readonly Product[],
  now = Date.now(),
) => {
  const units = await readAvailability(
    stockCounter(env),
    () => dbClient(env),
    products.flatMap((p) => p.variants.map((v) => v.variantId)),
  );
  const threshold = lowStockThreshold(env.LOW_STOCK_THRESHOLD);
  return products.map((product) => {
    const priced = productAt(product, now);
    const image = product.images[0]?.url;
    let total: number | null = 0;
    const variants = priced.variants.map((variant) => {
      const left = units.get(variant.variantId) ?? null;
      total = total === null || left === null ? null : total + Math.max(0, left);
      const imageUrl = variant.imageUrl ?? image;
      return { ...variant, ...availabilityOf(left, threshold), ...(imageUrl ? { imageUrl } : {}) };
    });
    const availability = availabilityOf(total, threshold);
    return { ...priced, ...availability, inStock: variants.some((v) => v.inStock), variants };
  });
};

/**
 * Prices the product answers passing through (one product or a page of them) at this moment and adds
 * their live availability. It sits outside the edge cache, which keeps products with their schedule
 * of prices and without availability, so a cached product still shows the price and the counter of
 * now (a price list switches on its second in every cached copy); the answer may be cached for a
 * second only.
 */
export const withAvailability = (): MiddlewareHandler<StorefrontEnv> => async (c, next) => {
  await next();
  if (c.res.status !== 200 || !c.res.headers.get("content-type")?.includes("application/json")) return;
  const body = (await c.res.clone().json()) as { items?: Product[] } & Product;
  const products = Array.isArray(body.items) ? body.items : [body];
  const now = Date.now();
  const priced = await withStock(c.env, products, now);
  const answer = Array.isArray(body.items) ? { ...body, items: priced } : priced[0];
  const change = nextPriceChange(products, now);
  const cacheControl = capFreshness(
    c.res.headers.get("Cache-Control"),
    change !== null && change - now < 2_000 ? 0 : 1,
  );
  // Hono keeps the previous answer's headers on the new one, so the changed ones are set after.
  c.res = new Response(JSON.stringify(answer), { status: 200, headers: c.res.headers });
  c.res.headers.delete("content-length");
  if (cacheControl) c.res.headers.set("Cache-Control", cacheControl);
};
