import { describe, expect, it } from "vitest";
import { isDependencyDown, isTransient } from "../runtime/failures.ts";
import { PaymentProcessorUnavailableError } from "./processor.ts";
import { withDeadline } from "./processor-deadline.ts";
import { createSimulatedProcessor } from "./simulated-processor.ts";

const request = { orderId: "ord_deadline", amountCents: 1_000, currency: "USD" as const, token: "tok_visa" };

describe("processor deadline", () => {
  it("fails a call that does not answer in time with a transient error, not a dependency outage", async () => {
    const hung = withDeadline(createSimulatedProcessor({ latencyMs: 60_000 }), 50);
    const started = Date.now();
    const error = await hung.authorize(request).catch((e: unknown) => e);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(error).toBeInstanceOf(PaymentProcessorUnavailableError);
    expect(String(error)).toContain("no answer within 50 ms");
    expect(isTransient(error)).toBe(true);
    expect(isDependencyDown(error)).toBe(false);
  });

  it("passes answers in time through, for every call", async () => {
    const processor = withDeadline(createSimulatedProcessor({ latencyMs: 5 }), 1_000);
    expect(await processor.authorize(request)).toMatchObject({ status: "authorized" });
    await expect(processor.capture({ orderId: request.orderId, ref: null })).resolves.toBeUndefined();
    await expect(processor.void({ orderId: "ord_other", ref: null })).resolves.toBeUndefined();
  });
});
