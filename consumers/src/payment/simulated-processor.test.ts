import { describe, expect, it } from "vitest";
import { PaymentProcessorRequestError, PaymentProcessorUnavailableError } from "./processor.ts";
import {
  AUTHENTICATION_FAILED_CODE,
  createSimulatedProcessor,
  SLOW_TOKEN,
  THREE_D_SECURE_TOKEN,
} from "./simulated-processor.ts";

const request = (orderId: string, token = "tok_visa") => ({
  orderId,
  amountCents: 2500,
  currency: "USD" as const,
  token,
});

/** Cycles through fixed draws: each call uses two (fail?, before or after the effect?). */
const draws = (...values: number[]) => {
  let i = 0;
  return () => values[i++ % values.length] ?? 0;
};

describe("simulated payment processor", () => {
  it("authorizes any tok_* but tok_chargeDeclined, which it declines", async () => {
    const processor = createSimulatedProcessor();
    expect(await processor.authorize(request("o1", "tok_visa"))).toMatchObject({ status: "authorized" });
    expect(await processor.authorize(request("o2", "tok_mastercard"))).toMatchObject({
      status: "authorized",
    });
    expect(await processor.authorize(request("o3", "tok_chargeDeclined"))).toEqual({
      status: "declined",
      code: "card_declined",
    });
  });

  it("waits for the shopper on tok_threeDSecure2Required, then authorizes or declines as the action ends", async () => {
    const processor = createSimulatedProcessor();
    const waiting = await processor.authorize(request("o1", THREE_D_SECURE_TOKEN));
    expect(waiting).toEqual({
      status: "requires_action",
      ref: expect.stringMatching(/^sim_auth_/),
      clientSecret: expect.stringMatching(/^sim_auth_\w+_secret_\w+$/),
    });
    expect(await processor.lookup({ orderId: "o1", ref: null })).toMatchObject({ state: "requires_action" });
    expect(processor.authorizationsOf("o1")).toBe(0);
    expect(processor.completeAction("o1", true)).toBe(true);
    expect(processor.completeAction("o1", true)).toBe(false); // no longer waiting
    expect(await processor.authorize(request("o1", THREE_D_SECURE_TOKEN))).toEqual({
      status: "authorized",
      ref: waiting.status === "requires_action" ? waiting.ref : "?",
    });
    expect(processor.authorizationsOf("o1")).toBe(1);

    await processor.authorize(request("o2", THREE_D_SECURE_TOKEN));
    processor.completeAction("o2", false);
    expect(await processor.lookup({ orderId: "o2", ref: null })).toEqual({
      state: "declined",
      ref: null,
      code: AUTHENTICATION_FAILED_CODE,
    });

    // A payment cancelled while it waits can no longer be finished.
    await processor.authorize(request("o3", THREE_D_SECURE_TOKEN));
    await processor.void({ orderId: "o3", ref: null });
    expect(processor.stateOf("o3")).toBe("voided");
    expect(processor.completeAction("o3", true)).toBe(false);
    expect(processor.completeAction("never-seen", true)).toBe(false);
  });

  it("answers the first result for the same order id and authorizes once", async () => {
    const processor = createSimulatedProcessor();
    const first = await processor.authorize(request("o1"));
    expect(await processor.authorize(request("o1", "tok_chargeDeclined"))).toEqual(first);
    expect(processor.authorizationsOf("o1")).toBe(1);
    await expect(processor.authorize({ ...request("o1"), amountCents: 1 })).rejects.toBeInstanceOf(
      PaymentProcessorRequestError,
    );
  });

  it("gives the same ref for an order after a restart (a new instance)", async () => {
    const before = await createSimulatedProcessor().authorize(request("o1"));
    expect(await createSimulatedProcessor().authorize(request("o1"))).toEqual(before);
  });

  it("fails transiently before or after the effect; a retry finds the first authorization", async () => {
    const before = createSimulatedProcessor({ failureRate: 0.5, random: draws(0.1, 0.1, 0.9, 0.9) });
    await expect(before.authorize(request("o1"))).rejects.toBeInstanceOf(PaymentProcessorUnavailableError);
    expect(before.stateOf("o1")).toBeUndefined();
    await expect(before.authorize(request("o1"))).resolves.toMatchObject({ status: "authorized" });

    const after = createSimulatedProcessor({ failureRate: 0.5, random: draws(0.1, 0.9, 0.9, 0.9) });
    await expect(after.authorize(request("o2"))).rejects.toBeInstanceOf(PaymentProcessorUnavailableError);
    expect(after.stateOf("o2")).toBe("authorized");
    await expect(after.authorize(request("o2"))).resolves.toMatchObject({ status: "authorized" });
    expect(after.authorizationsOf("o2")).toBe(1);
  });

  it("adds the configured latency", async () => {
    const processor = createSimulatedProcessor({ latencyMs: 50 });
    const started = performance.now();
    await processor.authorize(request("o1"));
    expect(performance.now() - started).toBeGreaterThanOrEqual(45);
  });

  it("captures or voids an authorization once, and refuses to capture a voided one", async () => {
    const processor = createSimulatedProcessor();
    await processor.authorize(request("o1"));
    await processor.capture({ orderId: "o1", ref: null });
    await processor.capture({ orderId: "o1", ref: null });
    expect(processor.stateOf("o1")).toBe("captured");
    await processor.authorize(request("o2"));
    await processor.void({ orderId: "o2", ref: null });
    await processor.void({ orderId: "o2", ref: null });
    expect(processor.stateOf("o2")).toBe("voided");
    await expect(processor.capture({ orderId: "o2", ref: null })).rejects.toBeInstanceOf(
      PaymentProcessorRequestError,
    );
  });

  it("answers about an order paid with tok_processorSlow only once its slow window has passed", async () => {
    const processor = createSimulatedProcessor({ slowForMs: 150 });
    const slow = { orderId: "slow1", amountCents: 100, currency: "USD" as const, token: SLOW_TOKEN };
    const started = Date.now();
    const first = processor.authorize(slow);
    await new Promise((r) => setTimeout(r, 50));
    // A second request inside the window waits for the same end, not a new window.
    await expect(processor.authorize(slow)).resolves.toMatchObject({ status: "authorized" });
    await expect(first).resolves.toMatchObject({ status: "authorized" });
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    expect(Date.now() - started).toBeLessThan(1_000);
    const after = Date.now();
    await processor.authorize(slow);
    expect(Date.now() - after).toBeLessThan(50);
    expect(processor.authorizationsOf("slow1")).toBe(1);
  });
});
