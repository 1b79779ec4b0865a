import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { expect } from "vitest";
import { CartStore } from "../../storefront/src/cart/index.ts";
import { app } from "./index.ts";

/** Calls the checkout worker in the Workers runtime with the test stack's bindings, optionally overridden. */
export const call = async (
  path: string,
  init: RequestInit = {},
  overrides: Partial<Env> = {},
): Promise<Response> => {
  const ctx = createExecutionContext();
  const res = await app.fetch(
    new Request(`http://checkout.test${path}`, init),
    { ...env, ...overrides },
    ctx,
  );
  await waitOnExecutionContext(ctx);
  return res;
};

export const address = {
  name: "Ada Lovelace",
  line1: "12 St James's Square",
  city: "London",
  postalCode: "SW1Y 4JH",
  country: "GB",
};

export const checkoutBody = (cartId: string, overrides: Record<string, unknown> = {}) => ({
  cartId,
  email: "ada@example.com",
  paymentToken: "tok_visa",
  shippingAddress: address,
  ...overrides,
});

export const postCheckout = (body: unknown, key: string | undefined, overrides: Partial<Env> = {}) =>
  call(
    "/v1/checkout",
    {
      method: "POST",
      headers: {
        "content-type": "application/json",
        ...(key === undefined ? {} : { "Idempotency-Key": key }),
      },
      body: JSON.stringify(body),
    },
    overrides,
  );

/** A cart in Redis holding the given seeded products, made through the cart store the storefront uses. */
export const filledCart = async (lines: Array<[productId: string, qty: number]>): Promise<string> => {
  const store = new CartStore(env);
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  const cartId = btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");
  await store.create(cartId);
  for (const [productId, qty] of lines) await store.addItem(cartId, productId, qty, "USD");
  return cartId;
};

export const cartLines = async (cartId: string) => {
  const cart = await new CartStore(env).read(cartId);
  if (typeof cart === "string") throw new Error(`cart ${cartId} is ${cart}`);
  return cart.lines;
};

export const expectError = async (res: Response, status: number, code: string) => {
  const body = (await res.json()) as { error: { code: string; message: string } };
  expect({ status: res.status, code: body.error?.code }).toEqual({ status, code });
  return body;
};

export const newKey = () => `key-${crypto.randomUUID()}`;
