import { describe, expect, inject, it } from "vitest";
import type { Cart } from "../../../edge/cart/index.ts";
import type { EnvOverrides } from "../../../platform/test-support.ts";
import { call, expectError, json, jsonInit } from "../test-support.ts";

/**
 * A Redis that hangs (its process paused with SIGSTOP, behind its own REST endpoint): every cart
 * request answers 503 within its deadline instead of hanging, and everything works again once Redis
 * goes on.
 */
describe("carts while Redis hangs", () => {
  const stack = inject("stack");
  const drill: EnvOverrides = {
    UPSTASH_REDIS_REST_URL: stack.drillRedisRestUrl,
    UPSTASH_REDIS_REST_TOKEN: stack.drillRedisRestToken,
  };
  const redis = (what: "pause" | "resume") =>
    fetch(`${stack.drillControlUrl}/redis/${what}`, { method: "POST" }).then((res) => {
      if (!res.ok) throw new Error(`drill ${what} answered ${res.status}`);
    });
  /** The answer and how long it took; a hang would exceed the test's own timeout instead. */
  const timed = async (request: Promise<Response>) => {
    const started = Date.now();
    const res = await request;
    return { res, ms: Date.now() - started };
  };

  it("answers reads and changes 503 dependency_unavailable with Retry-After, then recovers", async () => {
    const created = await call("/v1/carts", { method: "POST" }, drill);
    const { cartId } = await json<Cart>(created);
    const added = await call(
      `/v1/carts/${cartId}/items`,
      jsonInit("POST", { productId: "prod_0000050", qty: 2 }),
      drill,
    );
    expect(added.status).toBe(200);

    await redis("pause");
    try {
      for (const request of [
        () => call(`/v1/carts/${cartId}`, {}, drill),
        () =>
          call(`/v1/carts/${cartId}/items`, jsonInit("POST", { productId: "prod_0000050", qty: 1 }), drill),
        () => call("/v1/carts", { method: "POST" }, drill),
      ]) {
        const { res, ms } = await timed(request());
        await expectError(res, 503, "dependency_unavailable");
        expect(Number(res.headers.get("Retry-After"))).toBeGreaterThan(0);
        // The contract's bound on a hung dependency: a fast 503, never a hang.
        expect(ms).toBeLessThan(5_000);
      }
    } finally {
      await redis("resume");
    }

    // The add answered 503 had reached the REST endpoint, so it may apply once Redis goes on: a
    // timed-out change is "maybe applied", like any request whose answer was lost.
    const after = await json<Cart>(await call(`/v1/carts/${cartId}`, {}, drill));
    expect(after.items).toHaveLength(1);
    expect([2, 3]).toContain(after.items[0]?.qty);
  });
});
