import type { Kafka } from "@upstash/kafka";
import type { Redis } from "@upstash/redis";
import { AppError } from "../../../../domain/errors.ts";
import { type OrderPlaced, OrderPlacedSchema } from "../../../../domain/events.ts";
import { randomToken } from "../../../../domain/ids.ts";
import { lineTotalCents, sumCents } from "../../../../domain/money.ts";
import { ORDER_STATUS_TTL_SECONDS, type Order, orderStatusKey } from "../../../../domain/orders.ts";
import { TOPICS } from "../../../../domain/topics.ts";
import { log } from "../../../platform/log.ts";
import { type CartDeps, clearCart, readCart } from "../../../storefront/src/cart/index.ts";
import { getProducts } from "../../../storefront/src/catalog/index.ts";
import { lockCart } from "./cart-lock.ts";
import { canonicalJson, type IdempotencyStore, sha256 } from "./idempotency.ts";
import type { CheckoutBody } from "./schemas.ts";

export interface CheckoutDeps {
  cart: CartDeps;
  redis: Redis;
  idempotency: IdempotencyStore;
  kafka: Kafka;
  /** How long to wait for Kafka's acknowledgement before answering 503. */
  publishTimeoutMs: number;
}

export type CheckoutResult = { order: Order; replayed: boolean };

/** 16 random bytes, URL-safe: an order id nobody can guess. */
const newOrderId = (): string => `ord_${randomToken()}`;

/**
 * Waits for `work` at most `ms`. The client cannot be cancelled, so work that outlives its deadline
 * is still followed and logged: a late publish is harmless because a retry reuses its order id.
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

/** Reads the cart and prices it from the catalog; the client never sends a price. */
const priceOrder = async (deps: CheckoutDeps, orderId: string, body: CheckoutBody): Promise<OrderPlaced> => {
  const cart = await readCart(deps.cart, body.cartId);
  const products = await getProducts(
    deps.cart.catalog,
    cart.lines.map((line) => line.productId),
  );
  const items = cart.lines.flatMap((line) => {
    const product = products.get(line.productId);
    return product
      ? [
          {
            productId: product.id,
            sku: product.sku,
            name: product.name,
            qty: line.qty,
            unitPriceCents: product.priceCents,
          },
        ]
      : [];
  });
  if (items.length === 0) throw new AppError("cart_empty", `cart ${body.cartId} has no items to check out`);
  const currencies = new Set(items.map((item) => products.get(item.productId)?.currency));
  const [currency] = currencies;
  if (currencies.size !== 1 || !currency)
    throw new AppError("invalid_request", "a cart must be priced in one currency");
  return OrderPlacedSchema.parse({
    // Derived from the order id, so a retry that publishes again is recognised downstream.
    eventId: `order-placed:${orderId}`,
    orderId,
    cartId: body.cartId,
    email: body.email,
    items,
    subtotalCents: sumCents(items.map((item) => lineTotalCents(item.unitPriceCents, item.qty))),
    currency,
    paymentToken: body.paymentToken,
    shippingAddress: body.shippingAddress,
    placedAt: new Date().toISOString(),
  });
};

const toOrder = (event: OrderPlaced): Order => ({
  orderId: event.orderId,
  status: "pending",
  email: event.email,
  items: event.items.map((item) => ({
    ...item,
    lineTotalCents: lineTotalCents(item.unitPriceCents, item.qty),
  })),
  subtotalCents: event.subtotalCents,
  currency: event.currency,
  createdAt: event.placedAt,
  updatedAt: event.placedAt,
});

/**
 * Validates and reprices the cart, publishes `OrderPlaced` and empties the cart only after Kafka
 * acknowledged it. Idempotent on the key (same answer, nothing new) and one checkout at a time per
 * cart; when Kafka cannot be reached the cart is untouched and a retry with the same key succeeds.
 */
export const checkout = async (
  deps: CheckoutDeps,
  idempotencyKey: string,
  body: CheckoutBody,
): Promise<CheckoutResult> => {
  const fingerprint = await sha256(canonicalJson(body));
  const begun = await deps.idempotency.begin(idempotencyKey, fingerprint, newOrderId());
  if (begun.kind === "replay") return { order: begun.order, replayed: true };
  if (begun.kind === "mismatch") {
    throw new AppError(
      "idempotency_key_mismatch",
      "this Idempotency-Key was used with a different request body",
    );
  }
  if (begun.kind === "running") {
    throw new AppError("checkout_in_progress", "a checkout with this Idempotency-Key is running", {
      retryAfter: 1,
    });
  }

  const release = await lockCart(deps.redis, body.cartId).catch(async (error: unknown) => {
    await deps.idempotency.fail(idempotencyKey);
    throw error;
  });
  if (!release) {
    await deps.idempotency.fail(idempotencyKey);
    throw new AppError("checkout_in_progress", `cart ${body.cartId} is being checked out`, { retryAfter: 1 });
  }
  try {
    const event = await priceOrder(deps, begun.orderId, body);
    try {
      await withDeadline(
        deps.kafka.producer().produce(TOPICS.orderPlaced, event, { key: event.orderId }),
        deps.publishTimeoutMs,
        `publish of order ${event.orderId}`,
      );
    } catch (error) {
      throw new AppError(
        "order_queue_unavailable",
        "orders cannot be accepted right now; retry with the same Idempotency-Key",
        {
          cause: error,
          retryAfter: 5,
        },
      );
    }
    const order = toOrder(event);
    // Only if absent: when a retry republishes an order whose first publish landed late, the order
    // may be final already, and its record (written by the order-state consumer) must stay final.
    await deps.redis.set(orderStatusKey(order.orderId), JSON.stringify(order), {
      ex: ORDER_STATUS_TTL_SECONDS,
      nx: true,
    });
    await deps.idempotency.complete(idempotencyKey, order);
    await clearCart(deps.cart, body.cartId).catch((error: unknown) => {
      // The order is accepted; a cart left full is only an inconvenience, never a second order.
      log("warn", "cart not emptied after checkout", { cartId: body.cartId, orderId: order.orderId, error });
    });
    return { order, replayed: false };
  } catch (error) {
    await deps.idempotency.fail(idempotencyKey);
    throw error;
  } finally {
    await release();
  }
};
