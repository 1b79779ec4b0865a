import type { Context } from "hono";
import type { CartDeps, ClientLimit } from "../../../edge/cart/index.ts";
import { cartDeps } from "../../../edge/cart/index.ts";
import type { StorefrontEnv } from "../env.ts";

/**
 * Per-client limit on cart changes: CART_RATE_LIMIT per CART_RATE_WINDOW_SECONDS, per connecting IP.
 * Each change's own script counts it (fixed windows; see LIMIT in edge/cart/scripts.ts), so the limit
 * costs no round trip. Answers carry `RateLimit-Limit` and `RateLimit-Remaining`; over the limit the
 * change is 429 `rate_limited` with `Retry-After`.
 */
export const cartLimit = (c: Context<StorefrontEnv>): ClientLimit => ({
  name: "rl:cart",
  client: c.req.header("CF-Connecting-IP") ?? "unknown",
  max: c.var.settings.CART_RATE_LIMIT,
  windowMs: c.var.settings.CART_RATE_WINDOW_SECONDS * 1000,
  counted: (remaining, max) => {
    c.header("RateLimit-Limit", String(max));
    c.header("RateLimit-Remaining", String(remaining));
  },
});

/** The cart's dependencies for a change a client asks for: its limit applies. */
export const cartChangeDeps = (c: Context<StorefrontEnv>): CartDeps => ({
  ...cartDeps(c),
  limit: cartLimit(c),
});
