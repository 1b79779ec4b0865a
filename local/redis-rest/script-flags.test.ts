import { createHash, randomUUID } from "node:crypto";
import { Redis } from "@upstash/redis";
import { Redis as IORedis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RedisRestServer, startRedisRest } from "./server.ts";

const REDIS_URL = "redis://127.0.0.1:6379/15";
const TOKEN = `test-${randomUUID()}`;
const prefix = `redis-rest-script-flags-test:${randomUUID()}:`;
const key = (name: string): string => `${prefix}${name}`;
const sha1 = (script: string): string => createHash("sha1").update(script).digest("hex");

let rest: RedisRestServer;
let direct: IORedis;

/** A script no test has sent before, as @upstash/ratelimit writes them. */
const flaggedScript = (flags = "allow-key-locking"): { script: string; rewrittenSha: string } => {
  const body = `\n-- ${randomUUID()}\nreturn redis.call('INCRBY', KEYS[1], ARGV[1])\n`;
  const kept = flags
    .split(",")
    .filter((flag) => flag !== "allow-key-locking")
    .join(",");
  return {
    script: `#!lua flags=${flags}${body}`,
    rewrittenSha: sha1(`#!lua${kept ? ` flags=${kept}` : ""}${body}`),
  };
};

const post = async (path: string, body: unknown): Promise<unknown> => {
  const response = await fetch(`${rest.url}${path}`, {
    method: "POST",
    headers: { authorization: `Bearer ${TOKEN}` },
    body: JSON.stringify(body),
  });
  return response.json();
};

beforeAll(async () => {
  direct = new IORedis(REDIS_URL);
  rest = await startRedisRest({ redisUrl: REDIS_URL, token: TOKEN, port: 0 });
});

afterAll(async () => {
  const keys = await direct.keys(`${prefix}*`);
  if (keys.length > 0) await direct.del(...keys);
  await rest.close();
  await direct.quit();
});

describe("Upstash-only script flags over a real Redis", () => {
  it("is needed: Redis itself refuses the flag", async () => {
    await expect(direct.eval(flaggedScript().script, 1, key("direct"), 1)).rejects.toThrow(
      /Unexpected flag in script shebang: allow-key-locking/,
    );
  });

  it("runs EVAL of a flagged script, then EVALSHA of the SHA1 the client computed", async () => {
    const redis = new Redis({ url: rest.url, token: TOKEN, enableAutoPipelining: false });
    const { script, rewrittenSha } = flaggedScript();
    await expect(redis.evalsha(sha1(script), [key("e")], [1])).rejects.toThrow(/NOSCRIPT/);
    expect(await redis.eval(script, [key("e")], [2])).toBe(2);
    expect(await direct.script("EXISTS", rewrittenSha, sha1(script))).toEqual([1, 0]);
    expect(await redis.evalsha(sha1(script), [key("e")], [3])).toBe(5);
    expect(await redis.evalsha(sha1(script).toUpperCase(), [key("e")], [4])).toBe(9);
    expect(await direct.get(key("e"))).toBe("9");
  });

  it("answers SCRIPT LOAD with the original SHA1 and SCRIPT EXISTS by it", async () => {
    const redis = new Redis({ url: rest.url, token: TOKEN });
    const { script, rewrittenSha } = flaggedScript();
    expect(await redis.scriptExists(sha1(script), "0".repeat(40))).toEqual([0, 0]);
    expect(await redis.scriptLoad(script)).toBe(sha1(script));
    expect(await direct.script("EXISTS", rewrittenSha)).toEqual([1]);
    expect(await redis.scriptExists(sha1(script), "0".repeat(40))).toEqual([1, 0]);
    expect(await redis.evalsha(sha1(script), [key("l")], [7])).toBe(7);
  });

  it("keeps the other flags: a no-writes script runs with EVAL_RO and EVALSHA_RO", async () => {
    const redis = new Redis({ url: rest.url, token: TOKEN, enableAutoPipelining: false });
    const script = `#!lua flags=allow-key-locking,no-writes\n-- ${randomUUID()}\nreturn redis.call('GET', KEYS[1])`;
    await direct.set(key("ro"), "read");
    expect(await redis.evalRo(script, [key("ro")], [])).toBe("read");
    expect(await redis.evalshaRo(sha1(script), [key("ro")], [])).toBe("read");
    const writer = flaggedScript();
    await expect(redis.evalRo(writer.script, [key("ro2")], [1])).rejects.toThrow(/write flag/);
  });

  it("keeps line numbers in Lua errors", async () => {
    const redis = new Redis({ url: rest.url, token: TOKEN, enableAutoPipelining: false });
    const script = `#!lua flags=allow-key-locking\n-- ${randomUUID()}\nreturn nosuchfunction()`;
    await expect(redis.eval(script, [], [])).rejects.toThrow(/user_script:3:/);
  });

  it("runs flagged scripts through the client's createScript (EVALSHA, EVAL on NOSCRIPT)", async () => {
    const redis = new Redis({ url: rest.url, token: TOKEN });
    const { script, rewrittenSha } = flaggedScript();
    const counter = redis.createScript<number>(script);
    expect(await counter.exec([key("cs")], ["1"])).toBe(1);
    expect(await direct.script("EXISTS", rewrittenSha)).toEqual([1]);
    expect(await counter.exec([key("cs")], ["1"])).toBe(2);
    expect(await counter.evalsha([key("cs")], ["1"])).toBe(3);
  });

  it("rewrites and maps inside /pipeline and /multi-exec", async () => {
    for (const path of ["/pipeline", "/multi-exec"]) {
      const { script, rewrittenSha } = flaggedScript();
      const k = key(`batch${path}`);
      expect(
        await post(path, [
          ["SCRIPT", "EXISTS", sha1(script)],
          ["EVAL", script, 1, k, 10],
          ["EVALSHA", sha1(script), 1, k, 5],
          ["SCRIPT", "LOAD", script],
          ["SCRIPT", "EXISTS", sha1(script)],
          ["GET", k],
        ]),
      ).toEqual([
        { result: [0] },
        { result: 10 },
        { result: 15 },
        { result: sha1(script) },
        { result: [1] },
        { result: "15" },
      ]);
      expect(await direct.script("EXISTS", rewrittenSha)).toEqual([1]);
    }
  });

  it("passes scripts without the flag and their SHA1s through unchanged", async () => {
    const redis = new Redis({ url: rest.url, token: TOKEN, enableAutoPipelining: false });
    const script = `#!lua flags=no-writes\n-- ${randomUUID()} é 🚀\nreturn ARGV[1]`;
    expect(await redis.scriptLoad(script)).toBe(sha1(script));
    expect(await direct.script("EXISTS", sha1(script))).toEqual([1]);
    expect(await redis.evalsha(sha1(script), [], ["x"])).toBe("x");
    expect(await post("/", ["EVAL", "#!lua flags=nope\nreturn 1", 0])).toEqual({
      error: "ERR Unexpected flag in script shebang: nope",
    });
  });
});
