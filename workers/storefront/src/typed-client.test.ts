import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { buyOne } from "../../../examples/typed-client.ts";
import { app } from "./index.ts";
import { admin, call, createProduct, ORIGIN } from "./test-support.ts";

// The typed-client example of docs/API.md#typed-client, compiled by the typecheck and run against the app.
describe("hc<AppType>", () => {
  it("creates a cart, adds an item and checks out through the typed client", async () => {
    const productId = await createProduct({ priceCents: 2_500 });
    expect((await call(`/v1/admin/inventory/${productId}`, admin("PUT", { available: 5 }))).status).toBe(200);
    const fetch = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
      const ctx = createExecutionContext();
      const res = await app.fetch(new Request(input, init), env, ctx);
      await waitOnExecutionContext(ctx);
      return res;
    };
    const { order, status } = await buyOne(ORIGIN, productId, { fetch });
    expect(order).toMatchObject({ status: "pending", subtotalCents: 2_500, currency: "USD" });
    expect(order.items).toEqual([expect.objectContaining({ productId, qty: 1 })]);
    expect(status).toBe("pending");
  });
});
