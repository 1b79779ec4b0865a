import type { Redis } from "@upstash/redis";
import { log } from "../../platform/log.ts";

/**
 * The version of the catalog's prices (state Redis): raised by every price-list write, after the
 * products it touched were written through. It is part of the keys of cached pages and of edge
 * copies, so a write makes every cached answer that may hold an old schedule unreachable at once,
 * in every colo, without knowing which answers those are. The next reads fill again: a single
 * product from its written-through Redis entry, a page from Postgres, when the list is written,
 * long before it switches.
 */
export const PRICES_VERSION_KEY = "cat:prices";

/** How long an isolate reuses the version it read: a write reaches every answer within this. */
export const PRICES_VERSION_FRESH_MS = 1_000;

/**
 * Raises the version to the clock's milliseconds, or one past the current version if that is higher:
 * versions never repeat, even if the key is lost (a version of before would find old entries again).
 * KEYS[1] = the version; ARGV[1] = now (ms).
 */
const RAISE = `
local current = tonumber(redis.call('get', KEYS[1]) or '0') or 0
local next = math.max(current + 1, tonumber(ARGV[1]))
redis.call('set', KEYS[1], next)
return next`;

const known = new Map<string, { version: number; at: number }>();

/** Remembers `version` unless this isolate already knows a later one (a read that raced a raise). */
const remember = (scope: string, version: number): number => {
  const last = known.get(scope);
  const kept = Math.max(version, last?.version ?? 0);
  known.set(scope, { version: kept, at: Date.now() });
  return kept;
};

/**
 * The prices version, read at most once per `PRICES_VERSION_FRESH_MS` per isolate and Redis (`scope`
 * names it), by the requests that find it older (each its own read: a promise one request started
 * and others await is cancelled with its request, and the others then hang). When Redis does not
 * answer, the last version this isolate knew (0 if none), remembered like a read, so an outage costs
 * a deadline once a second per isolate, and edge copies keep answering meanwhile.
 */
export const readPricesVersion = async (redis: Redis, scope: string, now = Date.now()): Promise<number> => {
  const last = known.get(scope);
  if (last && now - last.at < PRICES_VERSION_FRESH_MS) return last.version;
  try {
    return remember(scope, Number((await redis.get<number | string>(PRICES_VERSION_KEY)) ?? 0));
  } catch (error) {
    log("warn", "prices version unknown; the last one known is used", { error });
    return remember(scope, last?.version ?? 0);
  }
};

/** Raises the prices version; this isolate uses the new one at once. */
export const raisePricesVersion = async (redis: Redis, scope: string): Promise<number> => {
  const version = Number(await redis.eval(RAISE, [PRICES_VERSION_KEY], [String(Date.now())]));
  return remember(scope, version);
};
