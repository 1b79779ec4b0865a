import type { Redis } from "@upstash/redis";
import { AppError } from "../../../domain/errors.ts";
import { type CartUpdated, CartUpdatedSchema } from "../../../domain/events.ts";
import { randomToken } from "../../../domain/ids.ts";
import type { Currency } from "../../../domain/money.ts";
import { priceLines } from "../../../domain/pricing.ts";
import type { EdgeDb } from "../../platform/clients.ts";
import { log } from "../../platform/log.ts";
import {
  type CatalogDeps,
  chosenVariant,
  getProduct,
  getVariantProducts,
  loadProductNow,
  type Product,
  soldVariants,
} from "../catalog/index.ts";
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
type ChangeResult = StoreResult | "catalog_miss" | "variant_required";

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

/**
 * Publishes the cart's lines on `cart-updated` after the answer. `products`: the products of its
 * variants as the caller read them, so each line names its product (a variant no product has any more
 * is named as its own product).
 */
export const announce = (
  deps: CartDeps,
  cart: StoredCart,
  products: ReadonlyMap<string, Product> = new Map(),
  deleted = false,
): void => {
  const event = CartUpdatedSchema.parse({
    eventId: crypto.randomUUID(),
    cartId: cart.cartId,
    items: cart.lines.map((line) => ({
      productId: products.get(line.variantId)?.id ?? line.variantId,
      variantId: line.variantId,
      qty: line.qty,
    })),
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
 * The products of the cart's variants, by variant id, from the catalog cache (the entries the cart's
 * script read with it, when it did). `known`: products the caller has just read from Postgres, by
 * variant id, not looked up again.
 */
export const cartProducts = async (
  deps: CartDeps,
  cart: StoredCart,
  known: ReadonlyMap<string, Product> = new Map(),
): Promise<Map<string, Product>> => {
  const products = new Map(known);
  const lookups = cart.lines.map((line) => line.variantId).filter((id) => !known.has(id));
  for (const [id, product] of await getVariantProducts(deps.catalog, lookups, cart.catalog))
    products.set(id, product);
  return products;
};

/**
 * The cart as answers show it, priced now from its variants' products. A line whose variant no longer
 * exists stays, marked `unavailable` and worth nothing (checkout refuses the cart until it is
 * removed); a line in another currency than the cart's first is left out.
 */
export const pricedCart = (
  deps: CartDeps,
  cart: StoredCart,
  products: ReadonlyMap<string, Product>,
): Cart => {
  const pricing = priceLines(
    cart.lines,
    soldVariants(products),
    (line) => line.variantId,
    Date.now(),
    deps.defaultCurrency,
  );
  const unavailable = new Set(
    pricing.unpriced.filter((u) => u.reason === "unavailable").map((u) => u.line.variantId),
  );
  const priced = new Map(pricing.lines.map((priced) => [priced.line.variantId, priced]));
  const items: CartLine[] = cart.lines.flatMap((line): CartLine[] => {
    const sold = priced.get(line.variantId);
    if (sold) {
      const { product, variant } = sold.entry;
      return [
        {
          productId: product.id,
          variantId: variant.variantId,
          sku: variant.sku,
          name: product.name,
          options: variant.options,
          qty: line.qty,
          unitPriceCents: sold.unitPriceCents,
          ...(sold.compareAtPriceCents !== undefined
            ? { compareAtPriceCents: sold.compareAtPriceCents }
            : {}),
          lineTotalCents: sold.lineTotalCents,
          imageUrl: variant.imageUrl ?? product.images[0]?.url ?? null,
        },
      ];
    }
    if (!unavailable.has(line.variantId)) return [];
    const product = products.get(line.variantId);
    const retired = product?.retired?.find((v) => v.variantId === line.variantId);
    return [
      {
        productId: product?.id ?? line.variantId,
        variantId: line.variantId,
        sku: retired?.sku ?? "",
        name: product?.name ?? "",
        options: retired?.options ?? {},
        qty: line.qty,
        unitPriceCents: 0,
        lineTotalCents: 0,
        imageUrl: product?.images[0]?.url ?? null,
        unavailable: true,
      },
    ];
  });
  return {
    cartId: cart.cartId,
    currency: pricing.currency,
    items,
    itemCount: pricing.lines.reduce((n, line) => n + line.line.qty, 0),
    subtotalCents: pricing.subtotalCents,
    expiresAt: new Date(cart.updatedAtMs + CART_TTL_MS).toISOString(),
    ...(cart.pendingOrderId ? { pendingOrderId: cart.pendingOrderId } : {}),
    ...(cart.lastOrderId ? { lastOrderId: cart.lastOrderId } : {}),
  };
};

/** Prices a stored cart from the catalog, now (see `pricedCart`). */
export const priceCart = async (deps: CartDeps, cart: StoredCart): Promise<Cart> =>
  pricedCart(deps, cart, await cartProducts(deps, cart));

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
 * A change of one line, in one round trip when the catalog cache holds the variant: the script checks
 * the variant there and counts the client's limit. When the cache does not hold it, the product is
 * read from Postgres (a miss the client's origin limits count; 404 if it does not exist; the cache
 * entry is written after the answer), the variant chosen from it, and the change asked again with its
 * currency, the limit already counted: three round trips.
 */
const changeLine = async (
  deps: CartDeps,
  cartId: string,
  pick: { variantId: string } | { productId: string },
  change: (
    pick: { variantId: string } | { productId: string },
    currency: string | undefined,
    limit: ClientLimit | undefined,
  ) => Promise<ChangeResult>,
): Promise<Cart> => {
  const limit = countOnce(deps);
  const known = new Map<string, Product>();
  const cart = await withCart(deps, cartId, async () => {
    const answer = await change(pick, undefined, limit());
    if (answer === "variant_required" && "productId" in pick) {
      // The cached product has several variants: the answer names them.
      chosenVariant((await getProduct(deps.catalog, pick.productId)).product, pick);
    }
    if (answer !== "catalog_miss" && answer !== "variant_required") return answer;
    const product = await loadProductNow(deps.catalog, pick);
    const variant = chosenVariant(product, pick);
    known.set(variant.variantId, product);
    const again = await change({ variantId: variant.variantId }, product.currency, undefined);
    if (typeof again === "string" && again !== "missing" && again !== "deleted")
      throw new Error(`variant ${variant.variantId} read but refused by the cart (${again})`);
    return again;
  });
  const products = await cartProducts(deps, cart, known);
  announce(deps, cart, products);
  return pricedCart(deps, cart, products);
};

/** Adds `qty` of a variant, or of a product's one variant (422 `variant_required` when it has several). */
export const addItem = (
  deps: CartDeps,
  cartId: string,
  pick: { variantId: string } | { productId: string },
  qty: number,
): Promise<Cart> =>
  changeLine(deps, cartId, pick, (target, currency, limit) =>
    deps.store.addItem(cartId, target, qty, currency, limit),
  );

/** Sets the quantity of the variant's line (0 removes it, also when the variant no longer exists). */
export const setItemQty = async (
  deps: CartDeps,
  cartId: string,
  variantId: string,
  qty: number,
): Promise<Cart> => {
  if (qty > 0) {
    return changeLine(deps, cartId, { variantId }, (target, currency, limit) =>
      deps.store.setQty(cartId, "variantId" in target ? target.variantId : variantId, qty, currency, limit),
    );
  }
  const limit = countOnce(deps);
  const cart = await withCart(deps, cartId, async () => {
    const answer = await deps.store.setQty(cartId, variantId, 0, undefined, limit());
    if (answer === "catalog_miss" || answer === "variant_required")
      throw new Error(`a line removal answered ${answer}`);
    return answer;
  });
  const products = await cartProducts(deps, cart);
  announce(deps, cart, products);
  return pricedCart(deps, cart, products);
};

export const removeItem = (deps: CartDeps, cartId: string, variantId: string): Promise<Cart> =>
  setItemQty(deps, cartId, variantId, 0);

export const deleteCart = async (deps: CartDeps, cartId: string): Promise<void> => {
  const limit = countOnce(deps);
  const cart = await withCart(deps, cartId, () => deps.store.delete(cartId, limit()));
  announce(deps, cart, new Map(), true);
};

export interface MergeResult {
  cart: StoredCart;
  /** Quantities of the guest cart that did not fit (99 a line, 100 lines, or another currency). */
  notMerged: Array<{ productId: string; variantId: string; qty: number }>;
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
      const products = await getVariantProducts(deps.catalog, [
        ...merged.cart.lines.map((line) => line.variantId),
        ...merged.notMerged.map((line) => line.variantId),
      ]);
      announce(deps, merged.cart, products);
      announce(deps, merged.guest, new Map(), true);
      const notMerged = merged.notMerged.map((line) => ({
        productId: products.get(line.variantId)?.id ?? line.variantId,
        ...line,
      }));
      return { cart: merged.cart, notMerged };
    }
    if (merged.which === "guest") return null;
    if (merged.kind === "deleted") break;
    await readCart(deps, intoId); // the target expired meanwhile: restore it, or answer 404
  }
  throw notFound(intoId);
};
