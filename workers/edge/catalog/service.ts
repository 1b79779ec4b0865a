import { AppError } from "../../../domain/errors.ts";
import { type CatalogUpdated, CatalogUpdatedSchema } from "../../../domain/events.ts";
import { priceAt } from "../../../domain/pricing.ts";
import { TOPICS } from "../../../domain/topics.ts";
import type { EdgeDb } from "../../platform/clients.ts";
import { log } from "../../platform/log.ts";
import { openCursor, signCursor } from "./cursor.ts";
import type { CachePolicy, CacheStatus, ReadThrough } from "./read-through.ts";
import type { Category, Product, ProductInput, ProductListQuery, ProductPage } from "./schemas.ts";
import {
  loadCategories,
  loadProduct,
  loadProductPage,
  loadProductRecords,
  type ProductRecord,
  saveProduct,
} from "./store.ts";

export interface CatalogPolicies {
  product: CachePolicy<ProductRecord>;
  list: CachePolicy<ProductPage>;
  /** Pages of a search: any text a client types is a key of its own, so they are kept briefly. */
  search: CachePolicy<ProductPage>;
  categories: CachePolicy<Category[]>;
}

/** How long the answer "no such product" is kept: seconds, so made-up ids never pile up. */
export const MISSING_PRODUCT_KEEP_MS = 30_000;

/** Cache lifetimes: fresh for the configured seconds, kept long after for stale-if-error. */
export const catalogPolicies = (freshSeconds: number, listFreshSeconds: number): CatalogPolicies => ({
  product: {
    freshMs: freshSeconds * 1000,
    keepMs: (record) => (record.product ? 30 * 24 * 3600 * 1000 : MISSING_PRODUCT_KEEP_MS),
    // Postgres' version of the row: a write never replaces a later committed state with an earlier one.
    version: (record) => record.version,
  },
  list: { freshMs: listFreshSeconds * 1000, keepMs: 24 * 3600 * 1000 },
  search: { freshMs: listFreshSeconds * 1000, keepMs: 5 * 60 * 1000 },
  categories: { freshMs: listFreshSeconds * 1000, keepMs: 24 * 3600 * 1000 },
});

export interface CatalogDeps {
  db: () => EdgeDb;
  /** Products, in the state Redis: the cart's scripts read them with the cart, in one round trip. */
  cache: ReadThrough;
  /** Pages and categories, in the cache Redis (evicts the least recently used under its budget). */
  pages: ReadThrough;
  mediaBaseUrl: string;
  policies: CatalogPolicies;
  /** Key of the signed catalog cursors (CURSOR_SIGNING_SECRET). */
  cursorSecret: string | undefined;
  /** The prices version (see `prices-version.ts`), part of every cached page's key. */
  pricesVersion: () => Promise<number>;
  raisePricesVersion: () => Promise<number>;
}

/**
 * The product as an answer at `atMs` shows it: its price then (a price list's, with the regular price
 * as `compareAtPriceCents`, while one lowers it), its schedule left out.
 */
export const productAt = ({ scheduled, ...product }: Product, atMs: number) => {
  const price = priceAt({ ...product, ...(scheduled ? { scheduled } : {}) }, atMs);
  return {
    ...product,
    priceCents: price.priceCents,
    ...(price.compareAtPriceCents !== undefined ? { compareAtPriceCents: price.compareAtPriceCents } : {}),
  };
};

/** The next moment after `atMs` at which any of the products' prices may change, or null. */
export const nextPriceChange = (products: readonly Product[], atMs: number): number | null => {
  let next: number | null = null;
  for (const product of products) {
    const { changesAtMs } = priceAt(product, atMs);
    if (changesAtMs !== null && (next === null || changesAtMs < next)) next = changesAtMs;
  }
  return next;
};

/** Entries hold a `ProductRecord` (product and Postgres version); `cat:p:` held products without one. */
export const productKey = (id: string): string => `cat:pv:${id}`;
const listKey = (q: ProductListQuery, pricesVersion: number): string =>
  `cat:l:${pricesVersion}:${q.limit}:${q.category ?? ""}:${q.cursor ?? ""}:${q.q ?? ""}`;
/** What a cursor is signed for: the list it pages through (any page size). */
const cursorScope = (q: ProductListQuery): string => `${q.category ?? ""}\n${q.q ?? ""}`;
const CATEGORIES_KEY = "cat:c";

/** Origin reads fail as a 503 the client may retry; stale entries were already tried by the cache. */
const fromOrigin = async <T>(what: string, load: () => Promise<T>): Promise<T> => {
  try {
    return await load();
  } catch (error) {
    if (error instanceof AppError) throw error;
    throw new AppError("dependency_unavailable", `the catalog could not be read (${what})`, {
      cause: error,
      retryAfter: 5,
    });
  }
};

/** The product's record read from Postgres (the cache's origin). */
const originProduct = (deps: CatalogDeps, id: string) => (): Promise<ProductRecord> =>
  fromOrigin("product", () => loadProduct(deps.db(), id, deps.mediaBaseUrl));

export const getProduct = async (
  deps: CatalogDeps,
  id: string,
): Promise<{ product: Product; version: number; status: CacheStatus }> => {
  const { value, status } = await deps.cache.read(
    productKey(id),
    deps.policies.product,
    originProduct(deps, id),
  );
  if (!value.product) throw new AppError("product_not_found", `product ${id} does not exist`);
  return { product: value.product, version: value.version, status };
};

/**
 * The product from Postgres, for a caller that found no usable cache entry itself (a cart script);
 * the entry is written after the answer. 404 when it does not exist.
 */
export const loadProductNow = async (deps: CatalogDeps, id: string): Promise<Product> => {
  const record = await deps.cache.loadNow(productKey(id), deps.policies.product, originProduct(deps, id));
  if (!record.product) throw new AppError("product_not_found", `product ${id} does not exist`);
  return record.product;
};

/**
 * A page of products. The cursor is checked before anything else (400 when this API did not sign it
 * for this list), so only pages that exist can become cache entries.
 */
export const listProducts = async (
  deps: CatalogDeps,
  query: ProductListQuery,
): Promise<{ value: ProductPage; status: CacheStatus }> => {
  const scope = cursorScope(query);
  const after = query.cursor ? await openCursor(deps.cursorSecret, scope, query.cursor) : undefined;
  const pricesVersion = await deps.pricesVersion();
  return deps.pages.read(
    listKey(query, pricesVersion),
    query.q ? deps.policies.search : deps.policies.list,
    () =>
      fromOrigin("product list", async () => {
        const page = await loadProductPage(deps.db(), query, after, deps.mediaBaseUrl);
        return {
          items: page.items,
          nextCursor: page.next ? await signCursor(deps.cursorSecret, scope, page.next) : null,
        };
      }),
  );
};

export const listCategories = (deps: CatalogDeps): Promise<{ value: Category[]; status: CacheStatus }> =>
  deps.pages.read(CATEGORIES_KEY, deps.policies.categories, () =>
    fromOrigin("categories", () => loadCategories(deps.db())),
  );

/**
 * False when the Redis cache holds a later version of the product than `version` (an update committed
 * after that state was read). When Redis cannot tell, the state is taken as current.
 */
export const isCurrentProduct = async (deps: CatalogDeps, id: string, version: number): Promise<boolean> => {
  try {
    return ((await deps.cache.storedVersion(productKey(id))) ?? 0) <= version;
  } catch (error) {
    log("warn", "catalog cache unreachable; edge copy kept unverified", { productId: id, error });
    return true;
  }
};

/**
 * Products by id for pricing carts and orders; ids that do not exist are left out. `stored`: the
 * cache entries of these ids as a cart script already read them with the cart (see the cart's
 * `catalog`), which saves the lookup's round trip; without all of them, one MGET reads them.
 */
export const getProducts = async (
  deps: CatalogDeps,
  ids: readonly string[],
  stored?: ReadonlyMap<string, string | null>,
): Promise<Map<string, Product>> => {
  const unique = [...new Set(ids)];
  const keys = unique.map(productKey);
  const load = (_key: string, i: number) => originProduct(deps, unique[i] ?? "")();
  const found =
    stored && unique.every((id) => stored.has(id))
      ? await deps.cache.answerStored(
          keys,
          unique.map((id) => stored.get(id)),
          deps.policies.product,
          load,
        )
      : await deps.cache.readMany(keys, deps.policies.product, load);
  return new Map(
    found.flatMap(({ value: { product } }) => (product ? [[product.id, product] as const] : [])),
  );
};

const isUniqueViolation = (error: unknown): boolean => {
  for (let e: unknown = error; e instanceof Error; e = e.cause) {
    if ((e as { code?: unknown }).code === "23505") return true;
  }
  return false;
};

export interface UpsertEffects {
  /** Publishes `catalog-updated` after the answer. */
  publish: (event: CatalogUpdated) => Promise<unknown>;
  background: (work: Promise<unknown>) => void;
}

/**
 * Writes the product of record, then the Redis cache (write-through, so the next read and every
 * checkout see the new price), and announces the change on `catalog-updated`. The cache entry
 * carries the version Postgres gave this write, so of racing updates the last committed one stays
 * cached whatever order their write-throughs (and any fills) reach Redis in.
 */
export const upsertProduct = async (
  deps: CatalogDeps,
  effects: UpsertEffects,
  id: string,
  input: ProductInput,
): Promise<Product> => {
  let record: ProductRecord;
  try {
    record = await saveProduct(deps.db(), id, input, deps.mediaBaseUrl);
  } catch (error) {
    if (isUniqueViolation(error)) {
      throw new AppError("invalid_request", `sku ${input.sku} belongs to another product`, {
        cause: error,
        details: [{ path: ["sku"] }],
      });
    }
    throw new AppError("dependency_unavailable", "the catalog could not be written", {
      cause: error,
      retryAfter: 5,
    });
  }
  const product = record.product;
  if (!product) throw new Error(`upsert of product ${id} returned no product`);
  try {
    await deps.cache.write(productKey(id), deps.policies.product, record);
    // A new product may add a category or change a count; lists otherwise follow within their TTL.
    await deps.pages.forget(CATEGORIES_KEY);
  } catch (error) {
    // Postgres has the update, but a cache may still serve the old state: the same PUT again fixes it.
    throw new AppError(
      "dependency_unavailable",
      "the product was saved but the catalog cache could not be updated; repeat the request",
      { cause: error, retryAfter: 2 },
    );
  }
  const event = CatalogUpdatedSchema.parse({
    eventId: crypto.randomUUID(),
    productId: id,
    updatedAt: product.updatedAt,
  });
  effects.background(
    effects
      .publish(event)
      .catch((error: unknown) => log("warn", "catalog-updated not published", { productId: id, error })),
  );
  return product;
};

/** Products written through per statement when prices change. */
const PRICE_REFRESH_CHUNK = 2_000;

/**
 * After a change of the price lists of `ids` committed: writes those products through to the Redis
 * cache with their new schedule (as Postgres has them now, each with the version the change gave it),
 * then raises the prices version so no cached page or edge copy holding an old schedule is answered
 * again. From then on every layer prices them from the new schedule, and switches on its second
 * without asking Postgres. If Redis cannot be written the answer is a 503 (Postgres has the change):
 * repeating the request fixes every cache.
 */
export const refreshPrices = async (deps: CatalogDeps, ids: readonly string[]): Promise<void> => {
  try {
    for (let i = 0; i < ids.length; i += PRICE_REFRESH_CHUNK) {
      const records = await fromOrigin("prices", () =>
        loadProductRecords(deps.db(), ids.slice(i, i + PRICE_REFRESH_CHUNK), deps.mediaBaseUrl),
      );
      await deps.cache.writeMany(
        records.flatMap((record) =>
          record.product ? [{ key: productKey(record.product.id), value: record }] : [],
        ),
        deps.policies.product,
      );
    }
    await deps.raisePricesVersion();
  } catch (error) {
    throw new AppError(
      "dependency_unavailable",
      "the prices were saved but the catalog cache could not be updated; repeat the request",
      { cause: error, retryAfter: 2 },
    );
  }
};

export const CATALOG_TOPIC = TOPICS.catalogUpdated;
