import { randomUUID } from "node:crypto";
import { parseArgs } from "node:util";

/**
 * `npm run smoke -- https://shop.example.com [--token tok_visa] [--timeout 120]`: what a shopper does,
 * against a deployed (or `npm run dev`) storefront, through its public API only: the health
 * endpoints, a catalog page, a product in stock, a cart with one unit of it, a checkout, and the
 * order followed until the saga confirms it (or cancels it: the smoke fails naming the reason). Each
 * step prints its status and time; the exit code is 0 only if the order was confirmed. It spends one
 * unit of a real product: on a live store, use a processor in test mode or a product kept for it.
 */
const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    token: { type: "string", default: "tok_visa" },
    timeout: { type: "string", default: "120" },
    email: { type: "string", default: "smoke-test@example.com" },
  },
});
const base = (positionals[0] ?? "").replace(/\/$/, "");
if (!/^https?:\/\/[^/]+/.test(base)) {
  process.stderr.write("usage: npm run smoke -- <storefront base URL> [--token tok_visa] [--timeout 120]\n");
  process.exit(2);
}
const timeoutMs = Number(values.timeout) * 1000;

interface Product {
  id: string;
  name: string;
  inStock: boolean;
}
interface Order {
  orderId: string;
  status: string;
  reason?: string;
}

const step = async <T>(name: string, work: () => Promise<T>): Promise<T> => {
  const started = performance.now();
  try {
    const result = await work();
    process.stdout.write(`ok   ${name} (${Math.round(performance.now() - started)} ms)\n`);
    return result;
  } catch (error) {
    process.stdout.write(`FAIL ${name}: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  }
};

const call = async <T>(method: string, path: string, expected: number, body?: unknown, headers = {}) => {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { ...(body === undefined ? {} : { "content-type": "application/json" }), ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(15_000),
  });
  const text = await res.text();
  if (res.status !== expected)
    throw new Error(`${method} ${path} answered ${res.status}: ${text.slice(0, 300)}`);
  return (text ? JSON.parse(text) : undefined) as T;
};

await step("GET /healthz", () => call("GET", "/healthz", 200));
await step("GET /readyz (Redis, Kafka REST, Postgres)", () => call("GET", "/readyz", 200));
const product = await step("GET /v1/products: a product in stock", async () => {
  const page = await call<{ items: Product[] }>("GET", "/v1/products?limit=100", 200);
  const found = page.items.find((p) => p.inStock);
  if (!found) throw new Error(`none of the first ${page.items.length} products is in stock`);
  return found;
});
await step(`GET /v1/products/${product.id}`, () => call("GET", `/v1/products/${product.id}`, 200));
const cart = await step("POST /v1/carts", () => call<{ cartId: string }>("POST", "/v1/carts", 201));
await step(`add 1 x ${product.name}`, () =>
  call("POST", `/v1/carts/${cart.cartId}/items`, 200, { productId: product.id, qty: 1 }),
);
const placed = await step("POST /v1/checkout", () =>
  call<Order>(
    "POST",
    "/v1/checkout",
    202,
    {
      cartId: cart.cartId,
      email: values.email,
      paymentToken: values.token,
      shippingAddress: {
        name: "Smoke Test",
        line1: "1 Test Street",
        city: "Testville",
        postalCode: "12345",
        country: "US",
      },
    },
    { "idempotency-key": randomUUID() },
  ),
);
const final = await step(`order ${placed.orderId} confirmed`, async () => {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const order = await call<Order>("GET", `/v1/orders/${placed.orderId}`, 200);
    if (["confirmed", "fulfilling", "shipped"].includes(order.status)) return order;
    if (order.status === "cancelled") throw new Error(`cancelled: ${order.reason ?? "no reason given"}`);
    if (Date.now() > until) throw new Error(`still ${order.status} after ${timeoutMs / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
});
process.stdout.write(`smoke test passed: order ${final.orderId} ${final.status}\n`);
