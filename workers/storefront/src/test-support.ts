import { env } from "cloudflare:test";
import { expect } from "vitest";
import type { EnvOverrides } from "../../platform/test-support.ts";
import { type ErrorBody, expectError, json, workerCaller } from "../../platform/test-support.ts";
import { app } from "./index.ts";

export const ORIGIN = "http://storefront.test";

/** Calls the storefront worker (see workerCaller). */
export const call = workerCaller<Env>(app, ORIGIN);

export const jsonInit = (
  method: string,
  body: unknown,
  headers: Record<string, string> = {},
): RequestInit => ({
  method,
  headers: { "content-type": "application/json", ...headers },
  body: typeof body === "string" ? body : JSON.stringify(body),
});

export const admin = (method: string, body?: unknown): RequestInit => ({
  ...(body === undefined ? { method } : jsonInit(method, body)),
  headers: {
    ...(body === undefined ? {} : { "content-type": "application/json" }),
    authorization: `Bearer ${env.ADMIN_TOKEN}`,
  },
});

export { type ErrorBody, expectError, json };

let counter = 0;
/** A product id unique to this run, so tests never share cache entries or stock. */
export const uniqueProductId = (prefix = "t"): string =>
  `${prefix}_${Date.now().toString(36)}_${(counter++).toString(36)}_${Math.random().toString(36).slice(2, 8)}`;

export const productInput = (overrides: Record<string, unknown> = {}) => ({
  sku: `SKU-${crypto.randomUUID().slice(0, 18)}`,
  name: "Test Walnut Desk",
  description: "A desk made for tests",
  priceCents: 12_500,
  currency: "USD",
  category: "office",
  ...overrides,
});

/** Creates a product through the admin API and returns its id. */
export const createProduct = async (
  overrides: Record<string, unknown> = {},
  id = uniqueProductId(),
): Promise<string> => {
  const res = await call(`/v1/admin/products/${id}`, admin("PUT", productInput(overrides)));
  expect(res.status).toBe(200);
  return id;
};

/** A unique email per call, in mixed case to exercise normalisation. */
export const uniqueEmail = (prefix = "shopper"): string =>
  `${prefix}.${crypto.randomUUID().slice(0, 12)}@Example.COM`;

export const TEST_PASSWORD = "correct horse battery staple";

export const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });

export interface SignedUp {
  customer: { customerId: string; email: string; name: string | null; createdAt: string };
  token: string;
}

/** Signs up a new customer through the API. */
export const signUpCustomer = async (
  overrides: Record<string, unknown> = {},
): Promise<SignedUp & { email: string; password: string }> => {
  const body = { email: uniqueEmail(), password: TEST_PASSWORD, ...overrides };
  const res = await call("/v1/customers", jsonInit("POST", body));
  expect(res.status).toBe(201);
  return { ...(await json<SignedUp>(res)), email: String(body.email), password: String(body.password) };
};

/** Signs in through the API (optionally merging a guest cart), from client IP `ip`. */
export const signIn = (
  body: { email: string; password: string; cartId?: string },
  overrides: EnvOverrides = {},
  ip = "203.0.113.7",
) => call("/v1/sessions", jsonInit("POST", body, { "CF-Connecting-IP": ip }), overrides);
