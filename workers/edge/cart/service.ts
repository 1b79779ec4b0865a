import type { Redis } from "@upstash/redis";
import { AppError } from "../../../domain/errors.ts";
import { type CartUpdated, CartUpdatedSchema } from "../../../domain/events.ts";
import { randomToken } from "../../../domain/ids.ts";
import type { Currency } from "../../../domain/money.ts";
import { priceLines } from "../../../domain/pricing.ts";
import type { EdgeDb } from "../../platform/clients.ts";
import { log } from "../../platform/log.ts";
import { type CatalogDeps, getProducts, loadProductNow, type Product } from "../catalog/index.ts";
import type { OriginGuard } from "../limits/origin-guard.ts";
import { loadSnapshot } from "./restore.ts";
import { CART_TTL_MS, type Cart, type CartLine } from "./schemas.ts";
import type { CartStore, ClientLimit, StoredCart } from "./store.ts";

export interface CartDeps {
  store: CartStore;
  /** Postgres, touched only to restore a cart Redis lost. */
  db: () => EdgeDb;
  /** The cache Redis: a cart id found nowhere is remembered there for a few seconds. */
  cache: Redis;
  /** The request's limits on reads that reach Postgres (a cart id Redis does not hold). */
  guard?: OriginGuard;
  catalog: CatalogDeps;
  /** Publishes `cart-updated`; runs after the answer. */
  publish: (event: CartUpdated) => Promise<unknown>;
  background: (work: Promise<unknown>) => void;
  defaultCurrency: Currency;
  /** The client's limit on cart changes, counted by each change's own script (storefront routes). */
  limit?: ClientLimit;
}

type StoreResult = StoredCart | "missing" | "deleted";
type ChangeResult = StoreResult | "catalog_miss";

const notFound = (cartId: string) =>
  new AppError("cart_not_found", `cart ${cartId} does not exist or has expired`);

/** 16 random bytes (128 bits) as URL-safe base64: holding the id is the right to use the cart. */
export const newCartId = (): string => randomToken();

/** How long a cart id found neither in Redis nor in Postgres is answered 404 without looking again. */
export const MISSING_CART_KEEP_MS = 30_000;
const missingCartKey = (cartId: string): string => `miss:cart:${cartId}`;

/** Whether the cart id was found nowhere moments ago (false when the cache Redis cannot say). */
const knownMissing = async (deps: CartDeps, cartId: string): Promise<boolean> => {
  try {
    return (await deps.cache.exists(missingCartKey(cartId))) > 0;
  } catch {
    return false;
  }
};

/**
 * Runs a cart operation; when Redis lost the cart but its durable copy exists, restores it and runs
 * again. Looking for the copy is a Postgres read: it counts against the client's limits, and an id
 * found nowhere is remembered briefly, so asking again is answered from the cache.
 */
const withCart = async (
  deps: CartDeps,
  cartId: string,
  op: () => Promise<StoreResult>,
): Promise<StoredCart> => {
  const first = await op();
  if (first === "deleted") throw notFound(cartId);
  if (first !== "missing") return first;
  if (await knownMissing(deps, cartId)) throw notFound(cartId);
  await deps.guard?.admit();
  const snapshot = await loadSnapshot(deps.db(), cartId, Date.now());
  if (!snapshot) {
    deps.background(
      deps.cache.set(missingCartKey(cartId), "1", { px: MISSING_CART_KEEP_MS }).catch((error: unknown) => {
        log("warn", "unknown cart id not remembered", { cartId, error });
      }),
    );
    throw notFound(cartId);
  }
  await deps.store.restore(snapshot, snapshot.updatedAtMs + CART_TTL_MS - Date.now());
  log("info", "cart restored from its durable copy", { cartId, lines: snapshot.lines.length });
  const second = await op();
  if (typeof second === "string") throw notFound(cartId);
  return second;
};

export const announce = (deps: CartDeps, cart: StoredCart, deleted = false): void => {
  const event = CartUpdatedSchema.parse({
    eventId: crypto.randomUUID(),
    cartId: cart.cartId,
    items: cart.lines,
    updatedAt: new Date(cart.updatedAtMs).toISOString(),
    ...(deleted ? { deleted: true } : {}),
  });
  deps.background(
    deps
      .publish(event)
      .catch((error: unknown) => log("warn", "cart-updated not published", { cartId: cart.cartId, error })),
  );
};

/**
 * Prices a stored cart from the catalog, now; lines that cannot be priced (their product no longer
 * exists, or sells in another currency than the cart's first line) are left out. `known`: products
 * the caller has just read from Postgres, not looked up again.
 */
export const priceCart = async (
  deps: CartDeps,
  cart: StoredCart,
  known: ReadonlyMap<string, Product> = new Map(),
): Promise<Cart> => {
  const products = new Map(known);
  const lookups = cart.lines.map((line) => line.productId).filter((id) => !known.has(id));
  for (const [id, product] of await getProducts(deps.catalog, lookups, cart.catalog))
    products.set(id, product);
  const pricing = priceLines(
    cart.lines,
    products,
    (line) => line.productId,
    Date.now(),
    deps.defaultCurrency,
  );
  const items: CartLine[] = pricing.lines.map(({ line, entry: product, ...price }) => ({
    productId: product.id,
    // Every product has one variant today, whose id is the product's.
    variantId: product.id,
    sku: product.sku,
    name: product.name,
    options: {},
    qty: line.qty,
    unitPriceCents: price.unitPriceCents,
    ...(price.compareAtPriceCents !== undefined ? { compareAtPriceCents: price.compareAtPriceCents } : {}),
    lineTotalCents: price.lineTotalCents,
    imageUrl: product.images[0]?.url ?? null,
  }));
  return {
    cartId: cart.cartId,
    currency: pricing.currency,
    items,
    itemCount: items.reduce((n, item) => n + item.qty, 0),
    subtotalCents: pricing.subtotalCents,
    expiresAt: new Date(cart.updatedAtMs + CART_TTL_MS).toISOString(),
    ...(cart.pendingOrderId ? { pendingOrderId: cart.pendingOrderId } : {}),
    ...(cart.lastOrderId ? { lastOrderId: cart.lastOrderId } : {}),
  };
};

export const createCart = async (deps: CartDeps): Promise<Cart> => {
  const cart = await deps.store.create(newCartId(), deps.limit);
  announce(deps, cart);
  return priceCart(deps, cart);
};

/** Reads a cart, restoring it from its durable copy when Redis lost it. */
export const readCart = (deps: CartDeps, cartId: string): Promise<StoredCart> =>
  withCart(deps, cartId, () => deps.store.read(cartId));

export const getCart = async (deps: CartDeps, cartId: string): Promise<Cart> =>
  priceCart(deps, await readCart(deps, cartId));

/** The client's limit for the first attempt of a change only: asking again is the same change. */
const countOnce = (deps: CartDeps): (() => ClientLimit | undefined) => {
  let limit = deps.limit;
  return () => {
    const first = limit;
    limit = undefined;
    return first;
  };
};

/**
 * A change of one line, in one round trip when the product is in the catalog cache: the script
 * checks the product there and counts the client's limit. When the cache does not hold it, the
 * product is read from Postgres (a miss the client's origin limits count; 404 if it does not exist;
 * the cache entry is written after the answer) and the change is asked again with its currency, the
 * limit already counted: three round trips.
 */
const changeLine = async (
  deps: CartDeps,
  cartId: string,
  productId: string,
  change: (currency: string | undefined, limit: ClientLimit | undefined) => Promise<ChangeResult>,
): Promise<Cart> => {
  const limit = countOnce(deps);
  const known = new Map<string, Product>();
  const cart = await withCart(deps, cartId, async () => {
    const answer = await change(undefined, limit());
    if (answer !== "catalog_miss") return answer;
    const product = await loadProductNow(deps.catalog, productId);
    known.set(product.id, product);
    const again = await change(product.currency, undefined);
    if (again === "catalog_miss") throw new Error(`product ${productId} read but refused by the cart`);
    return again;
  });
  announce(deps, cart);
  return priceCart(deps, cart, known);
};

export const addItem = (deps: CartDeps, cartId: string, productId: string, qty: number): Promise<Cart> =>
  changeLine(deps, cartId, productId, (currency, limit) =>
    deps.store.addItem(cartId, productId, qty, currency, limit),
  );

export const setItemQty = (deps: CartDeps, cartId: string, productId: string, qty: number): Promise<Cart> =>
  changeLine(deps, cartId, productId, (currency, limit) =>
    deps.store.setQty(cartId, productId, qty, currency, limit),
  );

export const removeItem = (deps: CartDeps, cartId: string, productId: string): Promise<Cart> =>
  setItemQty(deps, cartId, productId, 0);

export const deleteCart = async (deps: CartDeps, cartId: string): Promise<void> => {
  const limit = countOnce(deps);
  const cart = await withCart(deps, cartId, () => deps.store.delete(cartId, limit()));
  announce(deps, cart, true);
};

export interface MergeResult {
  cart: StoredCart;
  /** Quantities of the guest cart that did not fit (99 a line, 100 lines, or another currency). */
  notMerged: Array<{ productId: string; qty: number }>;
}

/**
 * Merges the guest cart `guestId` into `intoId` atomically (one script on the Redis server) and
 * deletes the guest cart. A guest cart Redis lost is restored from its durable copy first; one that
 * no longer exists (expired, deleted, merged already) merges nothing and answers null.
 */
export const mergeCart = async (
  deps: CartDeps,
  guestId: string,
  intoId: string,
): Promise<MergeResult | null> => {
  try {
    await readCart(deps, guestId);
  } catch (error) {
    if (error instanceof AppError && error.code === "cart_not_found") return null;
    throw error;
  }
  for (let attempt = 0; attempt < 2; attempt++) {
    const merged = await deps.store.merge(guestId, intoId);
    if (merged.kind === "merged") {
      announce(deps, merged.cart);
      announce(deps, merged.guest, true);
      return { cart: merged.cart, notMerged: merged.notMerged };
    }
    if (merged.which === "guest") return null;
    if (merged.kind === "deleted") break;
    await readCart(deps, intoId); // the target expired meanwhile: restore it, or answer 404
  }
  throw notFound(intoId);
};
