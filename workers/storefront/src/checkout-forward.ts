import { OpenAPIHono, type RouteConfig } from "@hono/zod-openapi";
import type { MiddlewareHandler } from "hono";
import { AppError } from "../../../domain/errors.ts";
import { checkoutRoute, getOrderRoute } from "../../edge/checkout-contract/index.ts";
import { rateLimit } from "../../platform/rate-limit.ts";
import type { StorefrontEnv } from "./env.ts";

/** Hands the request, untouched, to the checkout worker over the CHECKOUT service binding. */
const forwardToCheckout: MiddlewareHandler<StorefrontEnv> = async (c) => {
  const timeoutMs = c.var.settings.CHECKOUT_TIMEOUT_MS;
  try {
    return await c.env.CHECKOUT.fetch(new Request(c.req.raw, { signal: AbortSignal.timeout(timeoutMs) }));
  } catch (error) {
    throw new AppError("dependency_unavailable", "the checkout service did not answer in time", {
      cause: error,
      retryAfter: 2,
    });
  }
};

/**
 * Checkouts per client IP, and per customer when signed in: CHECKOUT_RATE_LIMIT per
 * CHECKOUT_RATE_WINDOW_SECONDS. Counted here, before the checkout worker holds stock or publishes,
 * which is also where a card tester's declined checkouts (each an email to an address of their
 * choosing) stop.
 */
const checkoutRateLimit = rateLimit<StorefrontEnv>((c) => ({
  name: "checkout",
  what: "checkouts",
  limit: c.var.settings.CHECKOUT_RATE_LIMIT,
  windowSeconds: c.var.settings.CHECKOUT_RATE_WINDOW_SECONDS,
  perCustomer: true,
}));

// The forward is the route's middleware, so it answers before any validation here: the checkout
// worker validates (the Idempotency-Key before the body) and its answer reaches the client as it is.
const forwarded = <R extends RouteConfig>(route: R, ...before: MiddlewareHandler<StorefrontEnv>[]) => ({
  ...route,
  middleware: [...before, forwardToCheckout],
});
const answeredByCheckout = (): never => {
  throw new Error("unreachable: the checkout worker answers this route");
};

/**
 * One base URL serves everything: checkout's routes, declared once in the shared checkout contract,
 * are documented and typed here like the storefront's own and answered by the checkout worker.
 */
export const checkoutForwardRoutes = new OpenAPIHono<StorefrontEnv>()
  .openapi(forwarded(checkoutRoute, checkoutRateLimit), answeredByCheckout)
  .openapi(forwarded(getOrderRoute), answeredByCheckout);
