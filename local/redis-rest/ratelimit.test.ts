import { randomUUID } from "node:crypto";
import { Ratelimit } from "@upstash/ratelimit";
import { Redis } from "@upstash/redis";
import { Redis as IORedis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RedisRestServer, startRedisRest } from "./server.ts";

/**
 * @upstash/ratelimit sends its Lua scripts with `#!lua flags=allow-key-locking` and EVALSHAs them by
 * hard-coded SHA1s of that text; this is the library itself against the endpoint and a real Redis.
 */

const REDIS_URL = "redis://127.0.0.1:6379/15";
const TOKEN = `test-${randomUUID()}`;
const prefix = `redis-rest-ratelimit-test:${randomUUID()}`;
const WINDOW_MS = 10_000;

let rest: RedisRestServer;
let direct: IORedis;

const limiters = {
  slidingWindow: () => Ratelimit.slidingWindow(3, "10 s"),
  fixedWindow: () => Ratelimit.fixedWindow(3, "10 s"),
  tokenBucket: () => Ratelimit.tokenBucket(1, "10 s", 3),
};
type LimiterName = keyof typeof limiters;

const clients = {
  "auto-pipelining": () => new Redis({ url: rest.url, token: TOKEN }),
  "single commands": () => new Redis({ url: rest.url, token: TOKEN, enableAutoPipelining: false }),
};
type ClientMode = keyof typeof clients;

const cases = (Object.keys(limiters) as LimiterName[]).flatMap((limiter) =>
  (Object.keys(clients) as ClientMode[]).map((mode) => [limiter, mode] as const),
);

/** Keeps the calls of one test inside one fixed window: waits when less than a second of it is left. */
const awayFromWindowEdge = async (): Promise<void> => {
  const left = WINDOW_MS - (Date.now() % WINDOW_MS);
  if (left < 1_000) await new Promise((resolve) => setTimeout(resolve, left + 20));
};

beforeAll(async () => {
  direct = new IORedis(REDIS_URL);
  // A fresh endpoint knows none of the library's SHA1s, so its first EVALSHAs get NOSCRIPT and it EVALs.
  rest = await startRedisRest({ redisUrl: REDIS_URL, token: TOKEN, port: 0 });
});

afterAll(async () => {
  const keys = await direct.keys(`${prefix}*`);
  if (keys.length > 0) await direct.del(...keys);
  await rest.close();
  await direct.quit();
});

describe.each(cases)("@upstash/ratelimit %s (%s)", (limiterName, mode) => {
  const ratelimit = (): Ratelimit =>
    new Ratelimit({
      redis: clients[mode](),
      limiter: limiters[limiterName](),
      ephemeralCache: false,
      prefix: `${prefix}:${limiterName}:${mode}`,
      timeout: 0, // never let a slow answer pass as a success
    });

  it("lets 3 calls through in the window, refuses the 4th, and counts identifiers apart", async () => {
    const limiter = ratelimit();
    await awayFromWindowEdge();
    const results = [];
    for (let i = 0; i < 4; i++) results.push(await limiter.limit("user-a"));
    expect(results.map((result) => result.success)).toEqual([true, true, true, false]);
    expect(results.map((result) => result.remaining)).toEqual([2, 1, 0, 0]);
    for (const result of results) {
      expect(result.limit).toBe(3);
      expect(result.reason).toBeUndefined();
      expect(result.reset).toBeGreaterThan(Date.now() - 1_000);
      await result.pending;
    }

    const other = await limiter.limit("user-b");
    expect([other.success, other.remaining]).toEqual([true, 2]);
    expect((await limiter.limit("user-a")).success).toBe(false);
  });

  it("reports the remaining calls with getRemaining", async () => {
    const limiter = ratelimit();
    await awayFromWindowEdge();
    expect((await limiter.getRemaining("user-c")).remaining).toBe(3);
    await limiter.limit("user-c");
    await limiter.limit("user-c");
    expect((await limiter.getRemaining("user-c")).remaining).toBe(1);
    await limiter.limit("user-c");
    expect((await limiter.getRemaining("user-c")).remaining).toBe(0);
    expect((await limiter.getRemaining("user-d")).remaining).toBe(3);
  });
});

describe("concurrent calls", () => {
  it("never lets more than the limit through, also when the calls race", async () => {
    const limiter = new Ratelimit({
      redis: clients["auto-pipelining"](),
      limiter: Ratelimit.slidingWindow(3, "10 s"),
      ephemeralCache: false,
      prefix: `${prefix}:concurrent`,
      timeout: 0,
    });
    await awayFromWindowEdge();
    const results = await Promise.all(Array.from({ length: 10 }, () => limiter.limit("racer")));
    expect(results.filter((result) => result.success)).toHaveLength(3);
  });
});
