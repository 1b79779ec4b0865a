import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { CHECKOUT_API_ROUTES } from "../../edge/checkout-contract/index.ts";
import { answeredOperations } from "../../platform/test-support.ts";
import { app } from "./index.ts";

describe("checkout worker health", () => {
  it("answers /healthz", async () => {
    const res = await app.request("/healthz", {}, env);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true });
  });

  it("is ready when its dependencies answer", async () => {
    const res = await app.request("/readyz", {}, env);
    expect(res.status).toBe(200);
  });
});

describe("checkout worker routes", () => {
  it("answers only the shared checkout contract (which the storefront forwards and documents) and operations", () => {
    const contract = CHECKOUT_API_ROUTES.map((route) => `${route.method.toUpperCase()} ${route.path}`);
    const operations = ["GET /healthz", "GET /readyz", "GET /openapi.json"];
    expect(answeredOperations(app).routes).toEqual([...contract, ...operations].sort());
  });
});
