import { env } from "cloudflare:test";
import { describe, expect, inject, it } from "vitest";
import { randomToken } from "../../../../domain/ids.ts";
import type { Order } from "../../../../domain/orders.ts";
import { CartStore } from "../../../edge/cart/index.ts";
import { checkoutBody, expectError, newKey, postCheckout } from "../test-support.ts";
import { CHECKOUT_LEASE_MS } from "./store.ts";

/** Checkout against a Redis that hangs (SIGSTOP): a fast 503, nothing half-written, a clean retry. */
describe("checkout while Redis hangs", () => {
  const stack = inject("stack");
  const drill = {
    UPSTASH_REDIS_REST_URL: stack.drillRedisRestUrl,
    UPSTASH_REDIS_REST_TOKEN: stack.drillRedisRestToken,
  };
  const redis = (what: "pause" | "resume") =>
    fetch(`${stack.drillControlUrl}/redis/${what}`, { method: "POST" }).then((res) => {
      if (!res.ok) throw new Error(`drill ${what} answered ${res.status}`);
    });

  it("answers 503 dependency_unavailable within 5 s, and the same key places the order afterwards", async () => {
    const store = new CartStore({ ...env, ...drill });
    const cartId = randomToken();
    await store.create(cartId);
    await store.addItem(cartId, { variantId: "prod_0000051" }, 1, "USD");
    const key = newKey();

    await redis("pause");
    let answer: Response;
    const started = Date.now();
    try {
      answer = await postCheckout(checkoutBody(cartId), key, drill);
    } finally {
      await redis("resume");
    }
    expect(Date.now() - started).toBeLessThan(5_000);
    await expectError(answer, 503, "dependency_unavailable");
    expect(Number(answer.headers.get("Retry-After"))).toBeGreaterThan(0);
    expect(await store.read(cartId)).toMatchObject({ lines: [{ variantId: "prod_0000051", qty: 1 }] });

    // The same key, as a client retries it. The first request's script may still have run once Redis
    // woke (other files freeze the drill Redis too, so it may wake late): its lease then holds the
    // key and the cart for up to CHECKOUT_LEASE_MS, answered 409 checkout_in_progress with Retry-After.
    let retry = await postCheckout(checkoutBody(cartId), key, drill);
    for (let waited = 0; retry.status === 409 && waited < CHECKOUT_LEASE_MS + 5_000; ) {
      await expectError(retry.clone(), 409, "checkout_in_progress");
      const wait = Number(retry.headers.get("Retry-After") ?? 1) * 1_000;
      await new Promise((resolve) => setTimeout(resolve, wait));
      waited += wait;
      retry = await postCheckout(checkoutBody(cartId), key, drill);
    }
    expect(retry.status).toBe(202);
    expect(((await retry.json()) as Order).items).toMatchObject([{ productId: "prod_0000051", qty: 1 }]);
  });
});
