import { Ratelimit } from "@upstash/ratelimit";
import type { Context, Env as HonoEnv, MiddlewareHandler } from "hono";
import { AppError } from "../../domain/errors.ts";
import { requestClients } from "../edge/limits/origin-guard.ts";
import { redisClient, type ServiceBindings } from "./clients.ts";
import { log } from "./log.ts";

/** One per-client limit: `limit` requests per `windowSeconds`, counted in Redis under `prefix`. */
export interface RateLimitRule {
  /** Redis key prefix, one per limit (`rl:<name>`). */
  name: string;
  /** What is limited, for the 429 message ("cart changes"). */
  what: string;
  /** Requests allowed per window, and the window (from the worker's settings). */
  limit: number;
  windowSeconds: number;
  /** Also per customer, when the request carries a valid customer token (a bot rotating its IPs). */
  perCustomer?: boolean;
}

/** Blocked identifiers remembered per limit in this isolate, so a flood is refused without a Redis call. */
const blocked = new Map<string, Map<string, number>>();
const blockedOf = (name: string): Map<string, number> => {
  let cache = blocked.get(name);
  if (!cache) {
    cache = new Map();
    blocked.set(name, cache);
  }
  return cache;
};

/**
 * Per-client rate limit (sliding window in Redis, `@upstash/ratelimit`). The client is the
 * connecting IP Cloudflare reports, and with `perCustomer` also the customer a valid token names
 * (both must be within the limit). Over the limit: 429 `rate_limited` with `Retry-After`; every
 * answer carries `RateLimit-Limit` and `RateLimit-Remaining`. When the limiter cannot reach Redis the
 * request is let through (the route's own Redis call then answers 503 if Redis is really down).
 */
export const rateLimit =
  <E extends HonoEnv & { Bindings: ServiceBindings & { CUSTOMER_TOKEN_SECRET?: string } }>(
    rule: (c: Context<E>) => RateLimitRule,
  ): MiddlewareHandler<E> =>
  async (c, next) => {
    const { name, what, limit: max, windowSeconds: window, perCustomer } = rule(c);
    const limiter = new Ratelimit({
      redis: redisClient(c.env),
      limiter: Ratelimit.slidingWindow(max, `${window} s`),
      prefix: `rl:${name}`,
      ephemeralCache: blockedOf(name),
      analytics: false,
    });
    const clients = perCustomer
      ? await requestClients(c.env, c.req.raw.headers)
      : [c.req.header("CF-Connecting-IP") ?? "unknown"];
    let results: Array<Awaited<ReturnType<Ratelimit["limit"]>>>;
    try {
      results = await Promise.all(clients.map((client) => limiter.limit(client)));
    } catch (error) {
      log("warn", "rate limiter unavailable; request let through", { limit: name, error });
      return next();
    }
    for (const result of results) c.executionCtx.waitUntil(result.pending);
    c.header("RateLimit-Limit", String(max));
    c.header("RateLimit-Remaining", String(Math.min(...results.map((result) => result.remaining))));
    const over = results.filter((result) => !result.success);
    if (over.length > 0) {
      const reset = Math.max(...over.map((result) => result.reset));
      const retryAfter = Math.max(1, Math.ceil((reset - Date.now()) / 1000));
      throw new AppError("rate_limited", `too many ${what}; retry in ${retryAfter} s`, { retryAfter });
    }
    await next();
  };
