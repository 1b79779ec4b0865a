import { AppError } from "../../../domain/errors.ts";
import { type CatalogUpdated, CatalogUpdatedSchema } from "../../../domain/events.ts";
import { TOPICS } from "../../../domain/topics.ts";
import type { EdgeDb } from "../../platform/clients.ts";
import { log } from "../../platform/log.ts";
import { openCursor, signCursor } from "./cursor.ts";
import type { CachePolicy, CacheStatus, ReadThrough } from "./read-through.ts";
import type { Category, Product, ProductInput, ProductListQuery, ProductPage } from "./schemas.ts";
import {
  CatalogConflict,
  loadCategories,
  loadProduct,
  loadProductOfVariant,
  loadProductPage,
  loadProductRecords,
  type ProductRecord,
  saveProduct,
} from "./store.ts";
import { variantIdsOf } from "./variants.ts";

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
 * Product records are cached under two kinds of key: by product id (product answers) and by variant
 * id (carts and checkout, which know a line by its variant), each entry the whole record with its
 * Postgres version. Ids of the two kinds may be equal (a one-variant product's) without meaning the
 * same entry. Entries written before products had variants were under `cat:pv:`.
 */
export const productKey = (id: string): string => `cat:pr:${id}`;
export const variantKey = (id: string): string => `cat:va:${id}`;

/** Every key the record is cached under. */
const recordKeys = (product: Product): string[] => [
  productKey(product.id),
  ...[...new Set(variantIdsOf(product))].map(variantKey),
];

const listKey = (q: ProductListQuery, pricesVersion: number): string =>
  `cat:lv:${pricesVersion}:${q.limit}:${q.category ?? ""}:${q.cursor ?? ""}:${q.q ?? ""}:${optionsKey(q.options)}`;
const optionsKey = (options: ProductListQuery["options"]): string =>
  options
    ? Object.entries(options)
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([name, value]) => `${encodeURIComponent(name)}=${encodeURIComponent(value)}`)
        .join("&")
    : "";
/** What a cursor is signed for: the list it pages through (any page size). */
const cursorScope = (q: ProductListQuery): string =>
  `${q.category ?? ""}\n${q.q ?? ""}\n${optionsKey(q.options)}`;
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

/** The record of the variant's product read from Postgres (the variant entries' origin). */
const originOfVariant = (deps: CatalogDeps, variantId: string) => (): Promise<ProductRecord> =>
  fromOrigin("product", () => loadProductOfVariant(deps.db(), variantId, deps.mediaBaseUrl));

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
 * the entry is written after the answer. By product id, or by the id of one of its variants; 404 when
 * there is none.
 */
export const loadProductNow = async (
  deps: CatalogDeps,
  id: { productId: string } | { variantId: string },
): Promise<Product> => {
  const record =
    "productId" in id
      ? await deps.cache.loadNow(
          productKey(id.productId),
          deps.policies.product,
          originProduct(deps, id.productId),
        )
      : await deps.cache.loadNow(
          variantKey(id.variantId),
          deps.policies.product,
          originOfVariant(deps, id.variantId),
        );
  if (!record.product) {
    throw new AppError(
      "product_not_found",
      "productId" in id ? `product ${id.productId} does not exist` : `variant ${id.variantId} does not exist`,
    );
  }
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
 * The products of variants, by variant id, for pricing carts and orders; ids no product has are left
 * out (a variant taken off its product maps to the product, which no longer sells it: see
 * `soldVariants`). `stored`: the variant entries as a cart script already read them with the cart
 * (see the cart's `catalog`), which saves the lookup's round trip; without all of them, one MGET reads
 * them.
 */
export const getVariantProducts = async (
  deps: CatalogDeps,
  variantIds: readonly string[],
  stored?: ReadonlyMap<string, string | null>,
): Promise<Map<string, Product>> => {
  const unique = [...new Set(variantIds)];
  const keys = unique.map(variantKey);
  const load = (_key: string, i: number) => originOfVariant(deps, unique[i] ?? "")();
  const found =
    stored && unique.every((id) => stored.has(id))
      ? await deps.cache.answerStored(
          keys,
          unique.map((id) => stored.get(id)),
          deps.policies.product,
          load,
        )
      : await deps.cache.readMany(keys, deps.policies.product, load);
  const products = new Map<string, Product>();
  found.forEach(({ value: { product } }, i) => {
    const id = unique[i];
    if (product && id !== undefined) products.set(id, product);
  });
  return products;
};

/** Writes the records through under every key each is cached under, in as few pipelines as fit. */
const writeRecords = (deps: CatalogDeps, records: readonly ProductRecord[]) =>
  deps.cache.writeMany(
    records.flatMap((record) =>
      record.product ? recordKeys(record.product).map((key) => ({ key, value: record })) : [],
    ),
    deps.policies.product,
  );

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
    if (error instanceof CatalogConflict) {
      throw new AppError("invalid_request", error.message, { details: [{ path: error.path }] });
    }
    if (isUniqueViolation(error)) {
      throw new AppError("invalid_request", "a sku of this product belongs to another product", {
        cause: error,
        details: [{ path: input.variants ? ["variants"] : ["sku"] }],
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
    await writeRecords(deps, [record]);
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
 * After a change of the price lists of the variants `ids` committed: writes their products through to the Redis
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
      await writeRecords(deps, records);
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
