import { callWithDeadline } from "../call-deadline.ts";
import { type PaymentProcessor, PaymentProcessorUnavailableError } from "./processor.ts";

/**
 * The processor with a deadline on every call: a call that has not answered after `timeoutMs`
 * fails with `PaymentProcessorUnavailableError` (transient), so the event is retried with the same
 * idempotency key instead of the consumer waiting forever. The call itself is not cancelled; a late
 * answer is ignored, and the retry gets the processor's recorded result.
 */
export const withDeadline = (processor: PaymentProcessor, timeoutMs: number): PaymentProcessor => {
  const bounded = <T>(what: string, call: () => Promise<T>): Promise<T> =>
    callWithDeadline(
      call,
      timeoutMs,
      () =>
        new PaymentProcessorUnavailableError(`payment processor ${what}: no answer within ${timeoutMs} ms`),
    );
  return {
    authorize: (request) => bounded("authorize", () => processor.authorize(request)),
    capture: (payment) => bounded("capture", () => processor.capture(payment)),
    void: (payment) => bounded("void", () => processor.void(payment)),
    refund: (payment) => bounded("refund", () => processor.refund(payment)),
    lookup: (payment) => bounded("lookup", () => processor.lookup(payment)),
  };
};
