import { env } from "cloudflare:test";
import { Redis } from "@upstash/redis";
import { describe, expect, it } from "vitest";
import { type CachePolicy, ReadThrough } from "./read-through.ts";

const redis = new Redis({
  url: env.UPSTASH_REDIS_REST_URL,
  token: env.UPSTASH_REDIS_REST_TOKEN,
  enableTelemetry: false,
});
const key = () => `test:rt:${crypto.randomUUID()}`;
const policy: CachePolicy<{ price: number }> = { freshMs: 60_000, keepMs: 600_000, version: (v) => v.price };

/** One simulated isolate: its own in-flight map, background work collected for the test to await. */
const isolate = () => {
  const pending: Promise<unknown>[] = [];
  const cache = new ReadThrough({ redis, background: (work) => pending.push(work), inflight: new Map() });
  return { cache, settle: () => Promise.all(pending) };
};

/** The test's Redis, noting every GET and MGET it is asked for in `calls`. */
const countingLookups = (calls: string[]): Redis =>
  new Proxy(redis, {
    get(target, name, receiver) {
      const value = Reflect.get(target, name, receiver);
      if (typeof value !== "function" || !["get", "mget"].includes(String(name))) return value;
      return (...args: unknown[]) => {
        calls.push(String(name));
        return value.apply(target, args);
      };
    },
  });

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("read-through catalog cache on the real Redis", () => {
  it("answers MISS, then HIT, from one origin read", async () => {
    const k = key();
    const { cache } = isolate();
    let loads = 0;
    const load = async () => ({ price: ++loads });
    expect(await cache.read(k, policy, load)).toEqual({ value: { price: 1 }, status: "MISS" });
    expect(await cache.read(k, policy, load)).toEqual({ value: { price: 1 }, status: "HIT" });
    expect(loads).toBe(1);
  });

  it("costs one origin read for 10,000 concurrent requests across 10 isolates", async () => {
    const k = key();
    let loads = 0;
    const load = async () => {
      loads++;
      await sleep(100); // a slow origin widens the race window
      return { price: 4200 };
    };
    const isolates = Array.from({ length: 10 }, isolate);
    const results = await Promise.all(
      isolates.flatMap(({ cache }) => Array.from({ length: 1000 }, () => cache.read(k, policy, load))),
    );
    expect(loads).toBe(1);
    expect(results).toHaveLength(10_000);
    expect(results.every((r) => r.value.price === 4200)).toBe(true);
  });

  it("serves a stale entry at once and refreshes it in the background", async () => {
    const k = key();
    const { cache, settle } = isolate();
    const quick: CachePolicy<{ price: number }> = { freshMs: 50, keepMs: 600_000 };
    let price = 100;
    await cache.read(k, quick, async () => ({ price }));
    await sleep(80);
    price = 200;
    expect(await cache.read(k, quick, async () => ({ price }))).toEqual({
      value: { price: 100 },
      status: "STALE",
    });
    await settle();
    expect(await cache.read(k, quick, async () => ({ price: -1 }))).toEqual({
      value: { price: 200 },
      status: "HIT",
    });
  });

  it("fills a missing entry while a refresh of it runs, with the value (a refresh answers nothing)", async () => {
    const k = key();
    const { cache, settle } = isolate();
    const quick: CachePolicy<{ price: number }> = { freshMs: 20, keepMs: 600_000 };
    await cache.read(k, quick, async () => ({ price: 1 }));
    await sleep(40);
    let releaseRefresh = () => {};
    const slowRefresh = new Promise<void>((resolve) => {
      releaseRefresh = resolve;
    });
    // A stale read starts a refresh whose origin read is still running...
    expect(
      await cache.read(k, quick, async () => {
        await slowRefresh;
        return { price: 2 };
      }),
    ).toMatchObject({ status: "STALE" });
    // ...when the entry goes (evicted, dropped after a failed write-through) and a read must fill it.
    await cache.forget(k);
    const filled = cache.read(k, quick, async () => ({ price: 3 }));
    await sleep(200); // the read has found no entry while the refresh still runs
    releaseRefresh();
    expect((await filled).value).toEqual({ price: expect.any(Number) });
    await settle();
  });

  it("serves stale when the origin fails, and fails when there is nothing to serve", async () => {
    const k = key();
    const { cache, settle } = isolate();
    const quick: CachePolicy<{ price: number }> = { freshMs: 10, keepMs: 600_000 };
    await cache.read(k, quick, async () => ({ price: 7 }));
    await sleep(30);
    const down = async (): Promise<{ price: number }> => {
      throw new Error("origin down");
    };
    expect(await cache.read(k, quick, down)).toEqual({ value: { price: 7 }, status: "STALE" });
    await settle();
    await expect(cache.read(key(), quick, down)).rejects.toThrow("origin down");
  });

  it("never lets an older value overwrite a newer write-through", async () => {
    const k = key();
    const { cache } = isolate();
    await cache.write(k, policy, { price: 500 });
    await cache.write(k, policy, { price: 300 }); // a filler that read before the update
    expect(await cache.read(k, policy, async () => ({ price: -1 }))).toEqual({
      value: { price: 500 },
      status: "HIT",
    });
  });

  it("shares one Redis lookup among concurrent reads, but a read after a write looks again", async () => {
    const k = key();
    const { cache } = isolate();
    await cache.write(k, policy, { price: 100 });
    let gets = 0;
    const slow = new Proxy(redis, {
      get(target, name, receiver) {
        const value = Reflect.get(target, name, receiver);
        if (name !== "get" || typeof value !== "function") return value;
        return async (...args: unknown[]) => {
          gets++;
          const answer = await value.apply(target, args);
          await sleep(150); // the answer is on its way back while the write lands
          return answer;
        };
      },
    });
    const shared = new ReadThrough({ redis: slow, background: () => undefined, inflight: new Map() });
    const none = async () => ({ price: -1 });
    const early = [shared.read(k, policy, none), shared.read(k, policy, none)];
    await sleep(50);
    await shared.write(k, policy, { price: 200 });
    const late = await shared.read(k, policy, none);
    expect((await Promise.all(early)).map((r) => r.value.price)).toEqual([100, 100]);
    expect(late).toEqual({ value: { price: 200 }, status: "HIT" });
    expect(gets).toBe(2);
  });

  it("reads many keys with one MGET, each answered as read would (HIT, MISS, STALE)", async () => {
    const [fresh, missing, stale] = [key(), key(), key()];
    const quick: CachePolicy<{ price: number }> = { freshMs: 200, keepMs: 600_000 };
    const { cache, settle } = isolate();
    await cache.read(stale, quick, async () => ({ price: 1 }));
    await sleep(250);
    await cache.read(fresh, quick, async () => ({ price: 2 }));
    const calls: string[] = [];
    const counted = countingLookups(calls);
    const pending: Promise<unknown>[] = [];
    const many = new ReadThrough({ redis: counted, background: (w) => pending.push(w), inflight: new Map() });
    const loaded: string[] = [];
    const answers = await many.readMany([fresh, missing, stale], quick, async (k, i) => {
      loaded.push(k);
      return { price: 10 + i };
    });
    expect(answers).toEqual([
      { value: { price: 2 }, status: "HIT" },
      { value: { price: 11 }, status: "MISS" },
      { value: { price: 1 }, status: "STALE" },
    ]);
    expect(calls.filter((c) => c === "mget")).toHaveLength(1);
    await Promise.all(pending);
    await settle();
    expect(loaded.sort()).toEqual([missing, stale].sort()); // the stale one refreshed in the background
    expect(await many.readMany([], quick, async () => ({ price: 0 }))).toEqual([]);
  });

  it("answers entries a script already read without looking them up again", async () => {
    const [cached, absent, garbled] = [key(), key(), key()];
    const { cache } = isolate();
    await cache.read(cached, policy, async () => ({ price: 7 }));
    const stored = await redis.get<unknown>(cached);
    const calls: string[] = [];
    const counted = countingLookups(calls);
    const pending: Promise<unknown>[] = [];
    const reader = new ReadThrough({
      redis: counted,
      background: (w) => pending.push(w),
      inflight: new Map(),
    });
    const loaded: string[] = [];
    const answers = await reader.answerStored(
      [cached, absent, garbled],
      [JSON.stringify(stored), null, "{not json"],
      policy,
      async (k, i) => {
        loaded.push(k);
        return { price: 100 + i };
      },
    );
    expect(answers).toEqual([
      { value: { price: 7 }, status: "HIT" },
      { value: { price: 101 }, status: "MISS" },
      { value: { price: 102 }, status: "MISS" },
    ]);
    expect(loaded.sort()).toEqual([absent, garbled].sort());
    // Only the fills looked for a filler's entry; the cached one cost no Redis read at all.
    expect(calls.filter((c) => c === "mget")).toHaveLength(0);
    await Promise.all(pending);
  });

  it("reads the origin when Redis is unreachable", async () => {
    const broken = new Redis({ url: "http://127.0.0.1:9", token: "x", enableTelemetry: false, retry: false });
    const cache = new ReadThrough({ redis: broken, background: () => undefined, inflight: new Map() });
    expect(await cache.read(key(), policy, async () => ({ price: 9 }))).toEqual({
      value: { price: 9 },
      status: "MISS",
    });
    expect(await cache.readMany([key(), key()], policy, async (_k, i) => ({ price: i }))).toEqual([
      { value: { price: 0 }, status: "MISS" },
      { value: { price: 1 }, status: "MISS" },
    ]);
  });
});
