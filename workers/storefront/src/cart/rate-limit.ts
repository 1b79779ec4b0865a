import { rateLimit } from "../../../platform/rate-limit.ts";
import type { StorefrontEnv } from "../env.ts";

/** Per-client limit on cart mutations: CART_RATE_LIMIT per CART_RATE_WINDOW_SECONDS. */
export const cartRateLimit = rateLimit<StorefrontEnv>((env) => ({
  name: "cart",
  what: "cart changes",
  limit: { setting: env.CART_RATE_LIMIT, fallback: 300 },
  windowSeconds: { setting: env.CART_RATE_WINDOW_SECONDS, fallback: 60 },
}));
