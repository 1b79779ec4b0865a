import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import type { Order } from "../../domain/orders.ts";
import type { Cart } from "../../workers/edge/cart/schemas.ts";
import type { ProductAnswer as Product } from "../../workers/edge/catalog/schemas.ts";

/** The public HTTP API of the storefront, as a client sees it. */
export interface StockLevel {
  variantId: string;
  productId: string;
  available: number;
  reserved: number;
  /** Raised by Postgres on every change of the stock row (admin writes, holds, commits, releases). */
  version: number;
}

export interface CheckoutAnswer {
  status: number;
  order?: Order;
  /** The contract's error body of a non-202 answer. */
  error?: { code: string; message: string; details?: Record<string, unknown> };
  /** Seconds the answer asked the client to wait before retrying. */
  retryAfter?: number;
}

/** Decided by the saga: confirmed (and on to fulfilling, shipped) or cancelled. */
const FINAL = new Set(["confirmed", "fulfilling", "shipped", "cancelled"]);

export const createApi = (baseUrl: string, adminToken: string) => {
  const call = async (path: string, init: RequestInit = {}): Promise<Response> =>
    fetch(`${baseUrl}${path}`, init);
  const jsonBody = (method: string, body: unknown, headers: Record<string, string> = {}): RequestInit => ({
    method,
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
  const adminHeaders = { authorization: `Bearer ${adminToken}` };
  const expectOk = async <T>(res: Response, what: string): Promise<T> => {
    if (!res.ok) throw new Error(`${what}: ${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  };

  /** An admin product upsert; a 503 is repeated after its Retry-After, as the contract tells clients to. */
  const putRepeated = async (productId: string, body: unknown): Promise<Response> => {
    let res = await call(`/v1/admin/products/${productId}`, jsonBody("PUT", body, adminHeaders));
    for (let tries = 1; res.status === 503 && tries < 5; tries++) {
      await sleep(Math.min(Number(res.headers.get("retry-after") ?? 1), 5) * 1_000);
      res = await call(`/v1/admin/products/${productId}`, jsonBody("PUT", body, adminHeaders));
    }
    return res;
  };

  const api = {
    /** Creates (upserts) a product through the admin API and sets its stock. */
    async createProduct(productId: string, available: number, priceCents = 1_250): Promise<void> {
      await api.putProduct(productId, priceCents);
      await api.setStock(productId, available);
    },
    /** Creates or updates the product (admin upsert), without touching its stock. */
    async putProduct(productId: string, priceCents: number): Promise<void> {
      const product = {
        sku: `SKU-${productId}`.slice(0, 64),
        name: `E2E product ${productId}`,
        description: "end-to-end test product",
        priceCents,
        currency: "USD",
        category: "e2e",
      };
      await expectOk(await putRepeated(productId, product), "put product");
    },
    /** Creates or updates a product from a whole admin body (options and variants, say). */
    async putProductBody(productId: string, body: Record<string, unknown>): Promise<Product> {
      return expectOk<Product>(await putRepeated(productId, body), "put product");
    },
    /** A request as a client sends it (an admin one with `admin`), answered raw. */
    async request(path: string, method = "GET", body?: unknown, admin = false): Promise<Response> {
      const headers = admin ? adminHeaders : {};
      return body === undefined
        ? call(path, { method, headers })
        : call(path, jsonBody(method, body, headers));
    },
    /** A new cart holding `qty` of the variant. */
    async cartWithVariant(variantId: string, qty = 1): Promise<string> {
      const cart = await expectOk<{ cartId: string }>(await call("/v1/carts", { method: "POST" }), "cart");
      await expectOk(
        await call(`/v1/carts/${cart.cartId}/items`, jsonBody("POST", { variantId, qty })),
        "add variant",
      );
      return cart.cartId;
    },
    /** Writes a price list (admin): `prices` by variant id, from `startsAt` to `endsAt` (ms). */
    async putPriceList(
      priceListId: string,
      startsAt: number,
      endsAt: number | undefined,
      prices: ReadonlyArray<{ variantId: string; priceCents: number }>,
    ): Promise<void> {
      const body = {
        name: `E2E list ${priceListId}`,
        currency: "USD",
        startsAt: new Date(startsAt).toISOString(),
        ...(endsAt === undefined ? {} : { endsAt: new Date(endsAt).toISOString() }),
        prices,
      };
      await expectOk(
        await call(`/v1/admin/price-lists/${priceListId}`, jsonBody("PUT", body, adminHeaders)),
        "put price list",
      );
    },
    async setStock(productId: string, available: number): Promise<StockLevel> {
      const res = await call(
        `/v1/admin/inventory/${productId}`,
        jsonBody("PUT", { available }, adminHeaders),
      );
      return expectOk<StockLevel>(res, "set stock");
    },
    async stock(productId: string): Promise<StockLevel> {
      const res = await call(`/v1/admin/inventory/${productId}`, { headers: adminHeaders });
      return expectOk<StockLevel>(res, "read stock");
    },
    /** A new cart holding `qty` of the product. */
    async cartWith(productId: string, qty = 1): Promise<string> {
      const cart = await expectOk<{ cartId: string }>(await call("/v1/carts", { method: "POST" }), "cart");
      const res = await call(`/v1/carts/${cart.cartId}/items`, jsonBody("POST", { productId, qty }));
      await expectOk(res, "add item");
      return cart.cartId;
    },
    /** Adds `qty` of the product to the cart; answers the cart. */
    async addItem(cartId: string, productId: string, qty: number): Promise<Cart> {
      return expectOk<Cart>(
        await call(`/v1/carts/${cartId}/items`, jsonBody("POST", { productId, qty })),
        "add item",
      );
    },
    async cart(cartId: string): Promise<Cart> {
      return expectOk<Cart>(await call(`/v1/carts/${cartId}`), `cart ${cartId}`);
    },
    async checkout(
      cartId: string,
      paymentToken: string,
      key: string = randomUUID(),
      email = "shopper@example.com",
    ): Promise<CheckoutAnswer> {
      const body = {
        cartId,
        email,
        paymentToken,
        shippingAddress: {
          name: "Ada Shopper",
          line1: "1 Test Street",
          city: "Testville",
          postalCode: "12345",
          country: "US",
        },
      };
      const res = await call("/v1/checkout", jsonBody("POST", body, { "idempotency-key": key }));
      if (res.status !== 202) {
        const body = (await res.json()) as { error: NonNullable<CheckoutAnswer["error"]> };
        const retryAfter = res.headers.get("Retry-After");
        return {
          status: res.status,
          error: body.error,
          ...(retryAfter ? { retryAfter: Number(retryAfter) } : {}),
        };
      }
      return { status: res.status, order: (await res.json()) as Order };
    },
    async order(orderId: string): Promise<Order> {
      return expectOk<Order>(await call(`/v1/orders/${orderId}`), `order ${orderId}`);
    },
    /** Operators' cancellation: the raw answer (200 with the order, or an error). */
    async cancelOrder(orderId: string): Promise<Response> {
      return call(`/v1/admin/orders/${orderId}/cancel`, { method: "POST", headers: adminHeaders });
    },
    async adminOrders(query: string): Promise<{ items: Order[]; nextCursor: string | null }> {
      return expectOk(await call(`/v1/admin/orders?${query}`, { headers: adminHeaders }), "admin orders");
    },
    /** Polls every order until all are final (or the deadline passes); answers their last state. */
    async waitFinal(orderIds: readonly string[], timeoutMs = 120_000): Promise<Map<string, Order>> {
      const final = new Map<string, Order>();
      const last = new Map<string, Order>();
      const deadline = Date.now() + timeoutMs;
      while (final.size < orderIds.length && Date.now() < deadline) {
        const open = orderIds.filter((id) => !final.has(id));
        for (let i = 0; i < open.length; i += 50) {
          const orders = await Promise.all(open.slice(i, i + 50).map((id) => api.order(id)));
          for (const order of orders) {
            last.set(order.orderId, order);
            if (FINAL.has(order.status)) final.set(order.orderId, order);
          }
        }
        if (final.size < orderIds.length) await new Promise((r) => setTimeout(r, 250));
      }
      if (final.size < orderIds.length) {
        const missing = orderIds.filter((id) => !final.has(id));
        throw new Error(
          `${missing.length} of ${orderIds.length} orders not final in ${timeoutMs} ms: ${missing
            .slice(0, 5)
            .map((id) => `${id} (${last.get(id)?.status ?? "unread"})`)
            .join(", ")}`,
        );
      }
      return final;
    },
  };
  return api;
};

export type Api = ReturnType<typeof createApi>;

/**
 * Makes the edge stock counter of a product wrong on purpose, far above the truth and at a version
 * no sync beats (until it expires): checkouts then all pass the edge, and Postgres alone decides who
 * gets the stock, as when a counter has drifted. Drills of the order pipeline use it to send more
 * orders than there are units down the pipeline.
 */
export const overstateStockCounter = async (
  stack: { redisRestUrl: string; redisRestToken: string },
  productId: string,
): Promise<void> => {
  const res = await fetch(stack.redisRestUrl, {
    method: "POST",
    headers: { authorization: `Bearer ${stack.redisRestToken}` },
    body: JSON.stringify(["HSET", `stock:${productId}`, "pg", "1000000", "v", "1000000000000", "h", "0"]),
  });
  if (!res.ok) throw new Error(`overstating the stock counter: ${res.status} ${await res.text()}`);
};

/** An answer a shopper's app retries with the same key: overload (503) or its own click still running. */
const retryable = (answer: CheckoutAnswer): boolean =>
  answer.status === 503 || answer.error?.code === "checkout_in_progress";

/**
 * Places one checkout per cart, at most `inFlight` at a time (default: all at once), and answers each
 * answer. Answers a client should retry (503 under a burst, 409 `checkout_in_progress` while its
 * first attempt still holds the cart) are retried with the same key after their `Retry-After`, as the
 * contract tells clients to; a retry answers the order if the first attempt's order landed after all.
 */
export const placeAll = async (
  api: Api,
  cartIds: readonly string[],
  token = "tok_visa",
  inFlight = cartIds.length,
): Promise<CheckoutAnswer[]> => {
  const place = async (cartId: string): Promise<CheckoutAnswer> => {
    const key = randomUUID();
    for (let attempt = 1; ; attempt++) {
      const answer = await api.checkout(cartId, token, key);
      if (!retryable(answer) || attempt >= 10) return answer;
      const wait = Math.min(5, Math.max(0.5, Number(answer.retryAfter ?? 1))) * 1000;
      await new Promise((r) => setTimeout(r, wait * (0.5 + Math.random())));
    }
  };
  const answers: CheckoutAnswer[] = new Array(cartIds.length);
  let next = 0;
  const lane = async (): Promise<void> => {
    for (let i = next++; i < cartIds.length; i = next++) answers[i] = await place(cartIds[i] ?? "");
  };
  await Promise.all(Array.from({ length: Math.min(inFlight, cartIds.length) }, lane));
  return answers;
};

/** Places one checkout per cart, all at once; throws unless every answer is 202. */
export const checkoutAll = async (
  api: Api,
  cartIds: readonly string[],
  token = "tok_visa",
): Promise<Order[]> => {
  const answers = await placeAll(api, cartIds, token);
  const bad = answers.filter((a) => a.status !== 202 || !a.order);
  if (bad.length > 0)
    throw new Error(
      `${bad.length} checkouts not accepted: ${bad.map((a) => a.error?.code ?? a.status).join(",")}`,
    );
  return answers.flatMap((a) => (a.order ? [a.order] : []));
};

/** A product id unique to this run. */
export const uniqueProductId = (prefix: string): string =>
  `${prefix}_${Date.now().toString(36)}_${randomUUID().slice(0, 8)}`;
