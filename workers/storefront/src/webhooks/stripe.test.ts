import { env } from "cloudflare:test";
import Stripe from "stripe";
import { describe, expect, it } from "vitest";
import type { EnvOverrides } from "../../../platform/test-support.ts";
import { call, expectError, json } from "../test-support.ts";

/**
 * Stripe's webhook endpoint, with events signed as Stripe signs them (the SDK's test header: the
 * `t=…,v1=…` HMAC-SHA256 of `<t>.<body>` with the endpoint's secret). What the pipeline makes of a
 * published event is in e2e/three-d-secure.test.ts.
 */
const intentEvent = (type: string, orderId: unknown = `ord_${crypto.randomUUID().replaceAll("-", "")}`) =>
  JSON.stringify({
    id: `evt_${crypto.randomUUID().replaceAll("-", "")}`,
    object: "event",
    type,
    data: {
      object: {
        id: "pi_3Test",
        object: "payment_intent",
        status: "requires_capture",
        metadata: { order_id: orderId },
      },
    },
  });

const signed = async (payload: string, options: { secret?: string; timestamp?: number } = {}) =>
  Stripe.webhooks.generateTestHeaderStringAsync({
    payload,
    secret: options.secret ?? env.STRIPE_WEBHOOK_SECRET,
    ...(options.timestamp ? { timestamp: options.timestamp } : {}),
  });

const deliver = (payload: string, signature: string | undefined, overrides: EnvOverrides = {}) =>
  call(
    "/v1/webhooks/stripe",
    {
      method: "POST",
      headers: {
        "content-type": "application/json",
        ...(signature ? { "stripe-signature": signature } : {}),
      },
      body: payload,
    },
    overrides,
  );

describe("POST /v1/webhooks/stripe", () => {
  it("hands a PaymentIntent event of an order to the pipeline, and acknowledges any other event", async () => {
    const payload = intentEvent("payment_intent.amount_capturable_updated");
    const res = await deliver(payload, await signed(payload));
    expect(res.status).toBe(200);
    expect(await json(res)).toEqual({ received: true, published: true });

    const other = JSON.stringify({
      id: "evt_other",
      object: "event",
      type: "charge.dispute.created",
      data: { object: {} },
    });
    expect(await json(await deliver(other, await signed(other)))).toEqual({
      received: true,
      published: false,
    });
    const foreign = intentEvent("payment_intent.succeeded", "not an order id!");
    expect(await json(await deliver(foreign, await signed(foreign)))).toEqual({
      received: true,
      published: false,
    });
  });

  it("refuses a signature made with another secret, a stale one, a body changed after signing, or none (400)", async () => {
    const payload = intentEvent("payment_intent.payment_failed");
    const refused = [
      await deliver(payload, await signed(payload, { secret: "whsec_someone_else" })),
      await deliver(payload, await signed(payload, { timestamp: Math.floor(Date.now() / 1000) - 600 })),
      await deliver(payload.replace("payment_failed", "succeeded"), await signed(payload)),
      await deliver(payload, "t=1,v1=deadbeef"),
    ];
    for (const res of refused) {
      const body = await expectError(res, 400, "invalid_request");
      expect(body.error.details).toEqual([expect.objectContaining({ path: ["stripe-signature"] })]);
    }
    await expectError(await deliver(payload, undefined), 400, "invalid_request");
  });

  it("does not exist without a signing secret", async () => {
    const payload = intentEvent("payment_intent.succeeded");
    await expectError(
      await deliver(payload, await signed(payload), { STRIPE_WEBHOOK_SECRET: "" }),
      404,
      "not_found",
    );
  });
});
