import type { Redis } from "@upstash/redis";
import { AppError } from "../../../../domain/errors.ts";
import { lineVariantId, type OrderPlaced, OrderPlacedSchema } from "../../../../domain/events.ts";
import { randomToken } from "../../../../domain/ids.ts";
import { type Order, pendingOrder } from "../../../../domain/orders.ts";
import { type Pricing, priceLines } from "../../../../domain/pricing.ts";
import { announce, type CartDeps, readCart, type StoredCart } from "../../../edge/cart/index.ts";
import { getVariantProducts, type SoldVariant, soldVariants } from "../../../edge/catalog/index.ts";
import type { CheckoutBody } from "../../../edge/checkout-contract/index.ts";
import type { StockCounter } from "../../../edge/stock/counter.ts";
import { log, rootCause } from "../../../platform/log.ts";
import { canonicalJson, sha256 } from "./idempotency.ts";
import { type Begun, CheckoutStore } from "./store.ts";

export interface CheckoutDeps {
  cart: CartDeps;
  redis: Redis;
  /** Publishes OrderPlaced to Kafka; resolves on the broker's acknowledgement. */
  publishOrder: (event: OrderPlaced) => Promise<unknown>;
  stock: StockCounter;
  /** How long to wait for Kafka's acknowledgement before answering 503. */
  publishTimeoutMs: number;
  /** How long an order's units stay held on the stock counter if its order never reaches Postgres. */
  holdMs: number;
  /** The most one order may be worth, and one of its lines (minor units). */
  limits: { orderCents: number; lineCents: number };
}

export type CheckoutResult = { order: Order; replayed: boolean };

/** 16 random bytes, URL-safe: an order id nobody can guess. */
const newOrderId = (): string => `ord_${randomToken()}`;

/** How often a checkout reads and prices the cart again when it changed while being priced. */
const MAX_PRICING_ROUNDS = 3;

/**
 * Waits for `work` at most `ms`. The Kafka REST client cannot be cancelled, so work that outlives its
 * deadline is still followed and logged: that publish may still land, which is why the cart stays
 * frozen as its order until the order is known to have landed.
 */
const withDeadline = async <T>(work: Promise<T>, ms: number, what: string): Promise<T> => {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      work.then(
        () => log("warn", `${what} finished after its deadline`),
        (error: unknown) => log("warn", `${what} failed after its deadline`, { error }),
      );
      reject(new Error(`no acknowledgement within ${ms} ms`));
    }, ms);
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    if (timer !== undefined) clearTimeout(timer);
  }
};

/**
 * Refuses an order worth more than the limit, or with a line worth more, before anything is held:
 * a bound on what one request can tie stock and a card authorization to.
 */
const checkAmounts = (
  limits: CheckoutDeps["limits"],
  { lines, subtotalCents }: Pick<Pricing<unknown, SoldVariant>, "lines" | "subtotalCents">,
): void => {
  const over = lines.filter((line) => line.lineTotalCents > limits.lineCents);
  if (over.length === 0 && subtotalCents <= limits.orderCents) return;
  throw new AppError("amount_limit", "this order is worth more than one checkout may be; nothing was held", {
    details: {
      maxOrderCents: limits.orderCents,
      maxLineCents: limits.lineCents,
      subtotalCents,
      lines: over.map((line) => ({
        productId: line.entry.product.id,
        variantId: line.entry.variant.variantId,
        lineTotalCents: line.lineTotalCents,
      })),
    },
  });
};

/**
 * The order of the cart's lines, priced from the catalog at the moment it is placed; the client never
 * sends a price. A line whose variant no longer exists refuses the checkout (409 `item_unavailable`,
 * nothing held); a line in another currency than the cart's first is left out, exactly as the cart
 * answer leaves it.
 */
const priceOrder = async (
  deps: CheckoutDeps,
  cart: StoredCart,
  body: CheckoutBody,
  customerId: string | undefined,
): Promise<OrderPlaced> => {
  const products = await getVariantProducts(
    deps.cart.catalog,
    cart.lines.map((line) => line.variantId),
    cart.catalog,
  );
  const placedAt = new Date();
  const pricing = priceLines(
    cart.lines,
    soldVariants(products),
    (line) => line.variantId,
    placedAt.getTime(),
    deps.cart.defaultCurrency,
  );
  const gone = pricing.unpriced.filter((u) => u.reason === "unavailable");
  if (gone.length > 0) {
    throw new AppError("item_unavailable", "the cart holds items that no longer exist; nothing was held", {
      details: { items: gone.map(({ line }) => ({ variantId: line.variantId })) },
    });
  }
  if (pricing.lines.length === 0) {
    throw new AppError("cart_empty", `cart ${body.cartId} has no items to check out`, {
      details: cart.lastOrderId ? { lastOrderId: cart.lastOrderId } : undefined,
    });
  }
  checkAmounts(deps.limits, pricing);
  const orderId = newOrderId();
  return OrderPlacedSchema.parse({
    // Derived from the order id: every publish of this order carries the same event id downstream.
    eventId: `order-placed:${orderId}`,
    orderId,
    cartId: body.cartId,
    email: body.email,
    items: pricing.lines.map(
      ({ line, entry: { product, variant }, unitPriceCents, compareAtPriceCents, priceListId }) => ({
        productId: product.id,
        variantId: variant.variantId,
        options: variant.options,
        sku: variant.sku,
        name: product.name,
        qty: line.qty,
        unitPriceCents,
        ...(compareAtPriceCents !== undefined ? { compareAtPriceCents } : {}),
        ...(priceListId !== undefined ? { priceListId } : {}),
      }),
    ),
    subtotalCents: pricing.subtotalCents,
    currency: pricing.currency,
    paymentToken: body.paymentToken,
    shippingAddress: body.shippingAddress,
    placedAt: placedAt.toISOString(),
    ...(customerId ? { customerId } : {}),
  });
};

type Started = Extract<Begun, { kind: "fresh" | "resume" }>;

/** Takes the key and the cart, restoring a cart Redis lost; throws the contract's answer otherwise. */
const begin = async (
  deps: CheckoutDeps,
  store: CheckoutStore,
  fingerprint: string,
  body: CheckoutBody,
): Promise<Started | { kind: "replay"; order: Order }> => {
  let begun = await store.begin(fingerprint);
  if (begun.kind === "missing") {
    await readCart(deps.cart, body.cartId); // restores it from its durable copy, or answers 404
    begun = await store.begin(fingerprint);
  }
  switch (begun.kind) {
    case "fresh":
    case "resume":
    case "replay":
      return begun;
    case "mismatch":
      throw new AppError(
        "idempotency_key_mismatch",
        "this Idempotency-Key was used with a different request body",
      );
    case "running":
      throw new AppError("checkout_in_progress", "a checkout with this Idempotency-Key is running", {
        retryAfter: 1,
      });
    case "busy":
      throw new AppError("checkout_in_progress", `cart ${body.cartId} is being checked out`, {
        retryAfter: 1,
        details: begun.pendingOrderId ? { orderId: begun.pendingOrderId } : undefined,
      });
    case "missing":
    case "deleted":
      throw new AppError("cart_not_found", `cart ${body.cartId} does not exist or has expired`);
  }
};

/**
 * Reloads the counters the freeze asked for from Postgres; answers false when Postgres cannot be
 * reached, so the freeze uses the last known levels (a counter never loaded then stays unknown).
 */
const reloadLevels = async (deps: CheckoutDeps, variantIds: string[]): Promise<boolean> => {
  try {
    await deps.stock.load(variantIds);
    return true;
  } catch (error) {
    if (!(error instanceof AppError) || error.code !== "dependency_unavailable") throw error;
    log("warn", "stock levels could not be reloaded from Postgres; checkout uses the last known ones", {
      variantIds,
      reason: rootCause(error),
    });
    return false;
  }
};

/**
 * Prices the cart, holds its units and freezes it as the order; the cart changing meanwhile means
 * pricing again, a counter Redis does not have (or whose level is old) is loaded from Postgres first,
 * and while Postgres cannot be reached the last known level stands.
 */
const freezeOrder = async (
  deps: CheckoutDeps,
  store: CheckoutStore,
  fingerprint: string,
  body: CheckoutBody,
  started: Started,
  customerId: string | undefined,
): Promise<OrderPlaced> => {
  let current: Begun = started;
  for (let round = 0; round < MAX_PRICING_ROUNDS; round++) {
    if (current.kind === "resume") return current.event;
    if (current.kind !== "fresh") break;
    const event = await priceOrder(deps, current.cart, body, customerId);
    let frozen = await store.freeze(current.version, event, deps.holdMs);
    if (frozen.kind === "unknown") {
      const reloaded = await reloadLevels(deps, frozen.variantIds);
      frozen = await store.freeze(current.version, event, deps.holdMs, !reloaded);
    }
    if (frozen.kind === "frozen") return event;
    if (frozen.kind === "short") {
      const productOf = new Map(event.items.map((item) => [lineVariantId(item), item.productId]));
      throw new AppError("out_of_stock", "not enough stock for this cart; nothing was held", {
        details: {
          items: frozen.items.map((item) => ({
            productId: productOf.get(item.variantId) ?? item.variantId,
            ...item,
          })),
        },
      });
    }
    if (frozen.kind === "unknown") {
      throw new AppError("dependency_unavailable", "stock levels could not be read", { retryAfter: 2 });
    }
    if (frozen.kind === "fenced") break;
    current = await store.begin(fingerprint);
  }
  throw new AppError("checkout_in_progress", `cart ${body.cartId} changed while being checked out`, {
    retryAfter: 1,
  });
};

/**
 * Places the cart's order: validates and reprices the cart, freezes it as the order, publishes
 * `OrderPlaced` and settles the cart once Kafka acknowledged it.
 *
 * One cart checkout is one order, whatever the shopper clicks. A publish that missed its deadline
 * may still land (Kafka cannot take a message back), so the answer is 503 and the cart stays frozen
 * as that order: changes are refused, and every later checkout of the cart, with any key, publishes
 * exactly the same order (same id, same event id, same prices) until one is acknowledged or the
 * pipeline reports it. Replays of a key answer its first result; only the request that holds a key
 * (or a cart) may finish it. With `customerId` (a customer's token) the order belongs to that
 * customer; the key's fingerprint includes it, so another customer cannot replay the key.
 */
export const checkout = async (
  deps: CheckoutDeps,
  idempotencyKey: string,
  body: CheckoutBody,
  customerId?: string,
): Promise<CheckoutResult> => {
  const fingerprint = await sha256(canonicalJson(customerId ? { ...body, customerId } : body));
  const store = await CheckoutStore.open(deps.redis, idempotencyKey, body.cartId);
  const started = await begin(deps, store, fingerprint, body);
  if (started.kind === "replay") return { order: started.order, replayed: true };
  try {
    const event = await freezeOrder(deps, store, fingerprint, body, started, customerId);
    try {
      await withDeadline(
        deps.publishOrder(event),
        deps.publishTimeoutMs,
        `publish of order ${event.orderId}`,
      );
    } catch (error) {
      throw new AppError(
        "order_queue_unavailable",
        `order ${event.orderId} may not have been received; checking out this cart again, with any key, places exactly this order`,
        { cause: error, retryAfter: 5, details: { orderId: event.orderId } },
      );
    }
    const order = pendingOrder(event);
    const settled = await store.complete({ ...order, customerId: event.customerId ?? null });
    if (settled) announce(deps.cart, settled);
    return { order, replayed: false };
  } catch (error) {
    await store.release().catch((releaseError: unknown) => {
      // The leases expire on their own; a retry waits at most CHECKOUT_LEASE_MS.
      log("warn", "checkout could not release its key and cart", {
        cartId: body.cartId,
        error: releaseError,
      });
    });
    throw error;
  }
};
