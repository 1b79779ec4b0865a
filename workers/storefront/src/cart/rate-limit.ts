import { Ratelimit } from "@upstash/ratelimit";
import type { MiddlewareHandler } from "hono";
import { AppError } from "../../../../domain/errors.ts";
import { redisClient } from "../../../platform/clients.ts";
import { log } from "../../../platform/log.ts";
import type { StorefrontEnv } from "../env.ts";

/** Blocked identifiers remembered in this isolate, so a flood is refused without a Redis call. */
const ephemeralCache = new Map<string, number>();

const positive = (value: string | undefined, fallback: number): number => {
  const parsed = Number(value);
  return Number.isInteger(parsed) && parsed > 0 ? parsed : fallback;
};

/**
 * Per-client limit on cart mutations (sliding window in Redis, `@upstash/ratelimit`). The client is
 * the connecting IP Cloudflare reports. Limits are configuration: CART_RATE_LIMIT requests per
 * CART_RATE_WINDOW_SECONDS.
 */
export const cartRateLimit: MiddlewareHandler<StorefrontEnv> = async (c, next) => {
  const limit = positive(c.env.CART_RATE_LIMIT, 100_000);
  const windowSeconds = positive(c.env.CART_RATE_WINDOW_SECONDS, 10);
  const limiter = new Ratelimit({
    redis: redisClient(c.env),
    limiter: Ratelimit.slidingWindow(limit, `${windowSeconds} s`),
    prefix: "rl:cart",
    ephemeralCache,
    analytics: false,
  });
  const client = c.req.header("CF-Connecting-IP") ?? "unknown";
  let result: Awaited<ReturnType<Ratelimit["limit"]>>;
  try {
    result = await limiter.limit(client);
  } catch (error) {
    // Fail open: the limiter shares Redis with the cart, whose own call then answers 503.
    log("warn", "rate limiter unavailable; request let through", { error });
    return next();
  }
  c.executionCtx.waitUntil(result.pending);
  c.header("RateLimit-Limit", String(result.limit));
  c.header("RateLimit-Remaining", String(result.remaining));
  if (!result.success) {
    const retryAfter = Math.max(1, Math.ceil((result.reset - Date.now()) / 1000));
    throw new AppError("rate_limited", `too many cart changes; retry in ${retryAfter} s`, { retryAfter });
  }
  await next();
};
