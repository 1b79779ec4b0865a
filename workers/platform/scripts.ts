import type { Redis } from "@upstash/redis";

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
