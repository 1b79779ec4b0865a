import { callWithDeadline } from "../call-deadline.ts";
import { type FulfillmentProvider, FulfillmentProviderUnavailableError } from "./provider.ts";

/**
 * The warehouse with a deadline on every call: a call that has not answered after `timeoutMs` fails
 * with `FulfillmentProviderUnavailableError` (transient), so the event is retried (or the next
 * tracking pass asks again) instead of the consumer waiting forever.
 */
export const withProviderDeadline = (
  provider: FulfillmentProvider,
  timeoutMs: number,
): FulfillmentProvider => {
  const bounded = <T>(what: string, call: () => Promise<T>): Promise<T> =>
    callWithDeadline(
      call,
      timeoutMs,
      () => new FulfillmentProviderUnavailableError(`warehouse ${what}: no answer within ${timeoutMs} ms`),
    );
  return {
    request: (request) => bounded("request", () => provider.request(request)),
    status: (orderId) => bounded("status", () => provider.status(orderId)),
    cancel: (orderId) => bounded("cancel", () => provider.cancel(orderId)),
  };
};
