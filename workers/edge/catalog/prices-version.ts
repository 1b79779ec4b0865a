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

const known = new Map<string, { version: number; at: number }>();
const reading = new Map<string, Promise<number>>();

/**
 * The prices version, read at most once per `PRICES_VERSION_FRESH_MS` per isolate and Redis (`scope`
 * names it); concurrent requests share the read. When Redis does not answer, the last version this
 * isolate knew (0 if none), so edge copies keep answering while Redis is down.
 */
export const readPricesVersion = (redis: Redis, scope: string, now = Date.now()): Promise<number> => {
  const last = known.get(scope);
  if (last && now - last.at < PRICES_VERSION_FRESH_MS) return Promise.resolve(last.version);
  let read = reading.get(scope);
  if (!read) {
    read = redis
      .get<number | string>(PRICES_VERSION_KEY)
      .then(
        (value) => {
          const version = Number(value ?? 0);
          known.set(scope, { version, at: Date.now() });
          return version;
        },
        (error: unknown) => {
          log("warn", "prices version unknown; the last one known is used", { error });
          return last?.version ?? 0;
        },
      )
      .finally(() => reading.delete(scope));
    reading.set(scope, read);
  }
  return read;
};

/** Raises the prices version; this isolate uses the new one at once. */
export const raisePricesVersion = async (redis: Redis, scope: string): Promise<number> => {
  const version = await redis.incr(PRICES_VERSION_KEY);
  known.set(scope, { version, at: Date.now() });
  return version;
};
