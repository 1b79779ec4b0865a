import { describe, expect, it } from "vitest";
import { call, expectError, jsonInit } from "./test-support.ts";

describe("one base URL", () => {
  it("forwards checkout and orders to the checkout worker over the service binding", async () => {
    await expectError(await call("/v1/checkout", jsonInit("POST", {})), 400, "idempotency_key_required");
    await expectError(await call("/v1/orders/ord_missing_everywhere"), 404, "order_not_found");
    const health = await call("/v1/checkout", { method: "GET" });
    expect(health.status).toBe(404);
  });
});
