import type { Redis } from "@upstash/redis";
import { AppError } from "../../domain/errors.ts";

/** What a built script offers: run it by SHA (loading it on the first NOSCRIPT). */
export interface RedisScript<T> {
  exec(keys: string[], args: string[]): Promise<T>;
}

const scripts = new WeakMap<Redis, Map<string, RedisScript<unknown>>>();

/**
 * The Lua script `source` on `redis`, built once per client and isolate: building one hashes its
 * source, which a per-request `createScript` would repeat on every call. `exec` runs it by its SHA
 * and loads it on the first NOSCRIPT.
 */
export const redisScript = <T>(redis: Redis, source: string): RedisScript<T> => {
  let byClient = scripts.get(redis);
  if (!byClient) {
    byClient = new Map();
    scripts.set(redis, byClient);
  }
  let script = byClient.get(source);
  if (!script) {
    script = redis.createScript<unknown>(source);
    byClient.set(source, script);
  }
  return script as RedisScript<T>;
};

/**
 * Runs the script `source` (built once, see `redisScript`); a Redis that fails or misses its
 * deadline is the contract's 503 `dependency_unavailable`, naming `what` could not be reached.
 */
export const runScript = async <T>(
  redis: Redis,
  source: string,
  keys: string[],
  args: ReadonlyArray<string | number>,
  what: string,
): Promise<T> => {
  try {
    return await redisScript<T>(redis, source).exec(keys, args.map(String));
  } catch (error) {
    throw new AppError("dependency_unavailable", `${what} could not be reached`, {
      cause: error,
      retryAfter: 2,
    });
  }
};
