import { env } from "cloudflare:test";
import { randomToken } from "../../../domain/ids.ts";
import { CartStore } from "../../edge/cart/index.ts";
import type { EnvOverrides } from "../../platform/test-support.ts";
import { expectError, workerCaller } from "../../platform/test-support.ts";
import { app } from "./index.ts";

/** Calls the checkout worker (see workerCaller). */
export const call = workerCaller<Env>(app, "http://checkout.test");

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

export const postCheckout = (body: unknown, key: string | undefined, overrides: EnvOverrides = {}) =>
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
export const filledCart = async (lines: Array<[variantId: string, qty: number]>): Promise<string> => {
  const store = new CartStore(env);
  const cartId = randomToken();
  await store.create(cartId);
  for (const [variantId, qty] of lines) await store.addItem(cartId, { variantId }, qty, "USD");
  return cartId;
};

export const cartLines = async (cartId: string) => {
  const cart = await new CartStore(env).read(cartId);
  if (typeof cart === "string") throw new Error(`cart ${cartId} is ${cart}`);
  return cart.lines;
};

export { expectError };

export const newKey = () => `key-${crypto.randomUUID()}`;
