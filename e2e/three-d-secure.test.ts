import Stripe from "stripe";
import { describe, expect, it } from "vitest";
import { THREE_D_SECURE_TOKEN } from "../consumers/src/payment/index.ts";
import type { Order } from "../domain/orders.ts";
import { TEST_STRIPE_WEBHOOK_SECRET } from "../local/workers.ts";
import { uniqueProductId } from "./support/api.ts";
import { useE2e } from "./support/fixture.ts";
import { waitFor } from "./support/pipeline.ts";
import { readRecords, readStock } from "./support/records.ts";

/**
 * 3-D Secure end to end with the simulated processor: a card that needs the shopper shows the order
 * `requires_action` with a client secret; the shopper's outcome (the consumers' local action endpoint,
 * or a signed Stripe webhook after the processor settled it) confirms or declines it; an action never
 * finished is cancelled `payment_timeout` after PAYMENT_ACTION_LIMIT_MS (8 s here), nothing held.
 */
describe("3-D Secure through the public API", () => {
  const e2e = useE2e({ settings: { PAYMENT_ACTION_LIMIT_MS: "8000", ORDER_SWEEP_INTERVAL_MS: "500" } });

  /** Places a one-unit order paid with the 3-D Secure test card; answers it once it waits for the shopper. */
  const placeWaiting = async (productId: string): Promise<Order> => {
    const answer = await e2e.api.checkout(await e2e.api.cartWith(productId, 1), THREE_D_SECURE_TOKEN);
    expect(answer.status).toBe(202);
    const orderId = answer.order?.orderId ?? "";
    let seen: Order | undefined;
    await waitFor(
      "the order waits for the shopper",
      async () => {
        seen = await e2e.api.order(orderId);
        return seen.status === "requires_action";
      },
      30_000,
    );
    return seen as Order;
  };

  const action = (orderId: string, result: "succeeded" | "failed") =>
    fetch(`${e2e.pipeline.operationsUrl}/simulator/payments/${orderId}/action`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ result }),
    });

  it("requires_action with a client secret, then confirmed once the shopper succeeds", async () => {
    const productId = uniqueProductId("e2e_3ds_ok");
    await e2e.api.createProduct(productId, 5);
    const waiting = await placeWaiting(productId);
    expect(waiting.payment).toEqual({ clientSecret: expect.stringMatching(/_secret_/) });
    const res = await action(waiting.orderId, "succeeded");
    expect(res.status).toBe(202);
    // Finished once: a second outcome finds nothing waiting.
    expect((await action(waiting.orderId, "failed")).status).toBe(404);
    const final = await e2e.api.waitFinal([waiting.orderId], 30_000);
    expect(final.get(waiting.orderId)).toMatchObject({ status: "confirmed" });
    expect(final.get(waiting.orderId)?.payment).toBeUndefined();
    await expect
      .poll(
        async () => (await readRecords(e2e.pipeline.db, [waiting.orderId])).payments.get(waiting.orderId),
        {
          timeout: 15_000,
        },
      )
      .toBe("captured");
  });

  it("cancelled payment_declined when the shopper fails it; stock back", async () => {
    const productId = uniqueProductId("e2e_3ds_fail");
    await e2e.api.createProduct(productId, 5);
    const waiting = await placeWaiting(productId);
    expect((await action(waiting.orderId, "failed")).status).toBe(202);
    const final = await e2e.api.waitFinal([waiting.orderId], 30_000);
    expect(final.get(waiting.orderId)).toMatchObject({ status: "cancelled", reason: "payment_declined" });
    await expect
      .poll(() => readStock(e2e.pipeline.db, productId), { timeout: 15_000 })
      .toEqual({
        available: 5,
        reserved: 0,
      });
  });

  it("cancelled payment_timeout when the shopper never finishes, with nothing held and the payment cancelled", async () => {
    const productId = uniqueProductId("e2e_3ds_timeout");
    await e2e.api.createProduct(productId, 5);
    const waiting = await placeWaiting(productId);
    const final = await e2e.api.waitFinal([waiting.orderId], 60_000);
    expect(final.get(waiting.orderId)).toMatchObject({ status: "cancelled", reason: "payment_timeout" });
    await expect
      .poll(() => e2e.pipeline.processor.stateOf(waiting.orderId), { timeout: 15_000 })
      .toBe("voided");
    await expect
      .poll(() => readStock(e2e.pipeline.db, productId), { timeout: 15_000 })
      .toEqual({
        available: 5,
        reserved: 0,
      });
    // Too late: the payment was cancelled at the processor.
    expect((await action(waiting.orderId, "succeeded")).status).toBe(404);
  });

  it("a signed Stripe webhook, delivered twice, settles the order once", async () => {
    const productId = uniqueProductId("e2e_3ds_webhook");
    await e2e.api.createProduct(productId, 5);
    const waiting = await placeWaiting(productId);
    // The shopper finished at the processor; its webhook reaches the storefront.
    e2e.pipeline.processor.completeAction(waiting.orderId, true);
    const payload = JSON.stringify({
      id: `evt_${crypto.randomUUID().replaceAll("-", "")}`,
      object: "event",
      type: "payment_intent.amount_capturable_updated",
      data: { object: { id: "pi_sim", object: "payment_intent", metadata: { order_id: waiting.orderId } } },
    });
    for (let delivery = 0; delivery < 2; delivery++) {
      const res = await fetch(`${e2e.workers.url}/v1/webhooks/stripe`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "stripe-signature": await Stripe.webhooks.generateTestHeaderStringAsync({
            payload,
            secret: TEST_STRIPE_WEBHOOK_SECRET,
          }),
        },
        body: payload,
      });
      expect(await res.json()).toEqual({ received: true, published: true });
    }
    const final = await e2e.api.waitFinal([waiting.orderId], 30_000);
    expect(final.get(waiting.orderId)).toMatchObject({ status: "confirmed" });
    const records = await readRecords(e2e.pipeline.db, [waiting.orderId]);
    await expect
      .poll(async () => (await readRecords(e2e.pipeline.db, [waiting.orderId])).emails.get(waiting.orderId), {
        timeout: 15_000,
      })
      .toBe(1);
    expect(records.orders.get(waiting.orderId)).toEqual({ status: "confirmed", reason: null });
    expect(e2e.pipeline.processor.authorizationsOf(waiting.orderId)).toBe(1);
  });
});
