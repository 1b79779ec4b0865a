import { createHash, randomBytes, randomUUID } from "node:crypto";
import { createServer } from "node:net";
import { Redis } from "@upstash/redis";
import { Redis as IORedis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RedisRestServer, startRedisRest } from "./server.ts";

const REDIS_URL = "redis://127.0.0.1:6379/15";
const TOKEN = `test-${randomUUID()}`;
const prefix = `redis-rest-test:${randomUUID()}:`;
const key = (name: string): string => `${prefix}${name}`;

let rest: RedisRestServer;
let direct: IORedis;

/** The client as the workers use it (auto-pipelining over /pipeline, base64), and its other modes. */
const clients = {
  default: () => new Redis({ url: rest.url, token: TOKEN }),
  "single commands": () => new Redis({ url: rest.url, token: TOKEN, enableAutoPipelining: false }),
  "no base64": () =>
    new Redis({ url: rest.url, token: TOKEN, enableAutoPipelining: false, responseEncoding: false }),
};
type ClientMode = keyof typeof clients;
const MODES = Object.keys(clients) as ClientMode[];

const post = (path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> =>
  fetch(`${rest.url}${path}`, {
    method: "POST",
    headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });

/** A port with nothing listening on it. */
const closedPort = async (): Promise<number> => {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
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

describe.each(MODES)("@upstash/redis (%s)", (mode) => {
  const k = (name: string) => key(`${mode}:${name}`);

  it("round-trips strings and counters, and the writes reach Redis", async () => {
    const redis = clients[mode]();
    expect(await redis.set(k("s"), "hello")).toBe("OK");
    expect(await redis.get(k("s"))).toBe("hello");
    expect(await redis.incrby(k("n"), 41)).toBe(41);
    expect(await redis.incr(k("n"))).toBe(42);
    await redis.mset({ [k("a")]: "x", [k("b")]: "y" });
    expect(await redis.mget(k("a"), k("b"), k("missing"))).toEqual(["x", "y", null]);
    expect(await redis.get(k("missing"))).toBeNull();
    expect(await direct.get(k("s"))).toBe("hello");
    expect(await direct.get(k("n"))).toBe("42");
  });

  it("keeps unicode and control characters intact in keys, values and hash fields", async () => {
    const redis = clients[mode]();
    const value = 'héllo wörld 🚀 日本語 \u0000 \n\t "quoted" \\ é';
    await redis.set(k("ünï🔑"), value);
    expect(await redis.get(k("ünï🔑"))).toBe(value);
    expect(await direct.getBuffer(k("ünï🔑"))).toEqual(Buffer.from(value, "utf8"));
    await redis.hset(k("h"), { "fïeld 🚀": value });
    expect(await redis.hgetall(k("h"))).toEqual({ "fïeld 🚀": value });
  });

  it("serializes and parses JSON values automatically", async () => {
    const redis = clients[mode]();
    const cart = { id: "c1", lines: [{ sku: "A-1", qty: 2, price: { cents: 1999 } }], note: "façade" };
    await redis.set(k("json"), cart);
    expect(await redis.get(k("json"))).toEqual(cart);
    expect(JSON.parse((await direct.get(k("json"))) ?? "null")).toEqual(cart);
  });

  it("does hashes: hset / hgetall / hincrby", async () => {
    const redis = clients[mode]();
    expect(await redis.hset(k("cart"), { "sku:1": 2, "sku:2": { qty: 1 }, note: "gift" })).toBe(3);
    expect(await redis.hincrby(k("cart"), "sku:1", 3)).toBe(5);
    expect(await redis.hgetall(k("cart"))).toEqual({ "sku:1": 5, "sku:2": { qty: 1 }, note: "gift" });
    expect(await redis.hget(k("cart"), "note")).toBe("gift");
    expect(await direct.hgetall(k("cart"))).toEqual({ "sku:1": "5", "sku:2": '{"qty":1}', note: "gift" });
  });

  it("runs EVAL, EVALSHA and createScript (EVALSHA, then EVAL on NOSCRIPT)", async () => {
    const redis = clients[mode]();
    const sum = "return redis.call('INCRBY', KEYS[1], ARGV[1]) + tonumber(ARGV[2])";
    expect(await redis.eval(sum, [k("ev")], [5, 10])).toBe(15);
    const sha = await redis.scriptLoad("return {KEYS[1], ARGV[1], 7}");
    expect(await redis.evalsha(sha, [k("x")], ["é🚀"])).toEqual([k("x"), "é🚀", 7]);
    await expect(redis.evalsha("0".repeat(40), [], [])).rejects.toThrow(/NOSCRIPT/);

    // A script no one has loaded yet: the first exec() falls back to EVAL, which caches it in Redis.
    const body = `-- ${randomUUID()}\nreturn redis.call('SET', KEYS[1], ARGV[1])`;
    const script = redis.createScript<string>(body);
    const sha1 = createHash("sha1").update(body).digest("hex");
    expect(await direct.script("EXISTS", sha1)).toEqual([0]);
    expect(await script.exec([k("scripted")], ["v1"])).toBe("OK");
    expect(await direct.script("EXISTS", sha1)).toEqual([1]);
    expect(await script.exec([k("scripted")], ["v2"])).toBe("OK");
    expect(await direct.get(k("scripted"))).toBe("v2");
  });

  it("sets and reads expirations", async () => {
    const redis = clients[mode]();
    await redis.set(k("ttl"), "v", { ex: 100 });
    expect(await redis.ttl(k("ttl"))).toBeGreaterThan(95);
    expect(await redis.expire(k("ttl"), 500)).toBe(1);
    expect(await redis.ttl(k("ttl"))).toBeGreaterThan(495);
    expect(await direct.ttl(k("ttl"))).toBeGreaterThan(495);
    expect(await redis.ttl(k("none"))).toBe(-2);
    expect(await redis.pexpire(k("ttl"), 1)).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await redis.get(k("ttl"))).toBeNull();
  });

  it("throws Redis's own message for a bad command, a wrong type and a wrong arity", async () => {
    const redis = clients[mode]();
    await expect(redis.exec(["NOSUCHCOMMAND", "x"])).rejects.toThrow(/ERR unknown command 'NOSUCHCOMMAND'/);
    await redis.hset(k("wrongtype"), { f: "v" });
    await expect(redis.incr(k("wrongtype"))).rejects.toThrow(/WRONGTYPE Operation against a key/);
    await expect(redis.exec(["SET", k("arity")])).rejects.toThrow(/wrong number of arguments for 'set'/);
  });
});

describe("pipelines and transactions through the client", () => {
  const redis = () => clients.default();

  it("pipelines commands and reports a failing command on its own", async () => {
    const results = await redis()
      .pipeline()
      .set(key("p"), "1")
      .incr(key("p"))
      .hset(key("ph"), { a: "b" })
      .hgetall(key("ph"))
      .get(key("p"))
      .exec();
    expect(results).toEqual(["OK", 2, 1, { a: "b" }, 2]);

    const failing = redis().pipeline().set(key("pe"), "text").incr(key("pe")).get(key("pe"));
    const kept = await failing.exec({ keepErrors: true });
    expect(kept.map((entry) => entry.error)).toEqual([
      undefined,
      "ERR value is not an integer or out of range",
      undefined,
    ]);
    expect(kept[2]?.result).toBe("text");
    await expect(redis().pipeline().incr(key("pe")).exec()).rejects.toThrow(
      /Command 1 \[ incr \] failed: ERR value/,
    );
  });

  it("runs MULTI/EXEC and reports a runtime error per command, the others applied", async () => {
    expect(await redis().multi().set(key("m"), 10).incrby(key("m"), 5).get(key("m")).exec()).toEqual([
      "OK",
      15,
      15,
    ]);

    const tx = redis().multi().set(key("mt"), "plain").hget(key("mt"), "f").set(key("mt2"), "after");
    const kept = await tx.exec({ keepErrors: true });
    expect(kept[1]?.error).toMatch(/^WRONGTYPE/);
    expect([kept[0]?.result, kept[2]?.result]).toEqual(["OK", "OK"]);
    expect(await direct.get(key("mt2"))).toBe("after");
    await expect(redis().multi().incr(key("mt")).exec()).rejects.toThrow(/Command 1 \[ incr \] failed/);
  });

  it("discards the whole transaction when Redis refuses a command while queueing it", async () => {
    const response = await post("/multi-exec", [
      ["SET", key("abort"), "1"],
      ["NOPE"],
      ["INCR", key("abort")],
    ]);
    expect(response.status).toBe(200);
    const body = (await response.json()) as { error?: string }[];
    expect(body[0]?.error).toMatch(/^EXECABORT/);
    expect(body[1]?.error).toMatch(/^ERR unknown command 'NOPE'/);
    expect(body[2]?.error).toMatch(/^EXECABORT/);
    expect(await direct.exists(key("abort"))).toBe(0);
  });
});

describe("the wire protocol", () => {
  it("answers base64 when asked (except a top-level OK), plain JSON otherwise", async () => {
    const bytes = Buffer.concat([randomBytes(64), Buffer.from([0, 0xff, 0xfe])]);
    await direct.set(key("bin"), bytes);
    await direct.rpush(key("list"), "OK", "é", bytes);
    const b64 = { "upstash-encoding": "base64" };

    expect(await (await post("/", ["SET", key("b"), "hi"], b64)).json()).toEqual({ result: "OK" });
    expect(await (await post("/", ["GET", key("b")], b64)).json()).toEqual({ result: "aGk=" });
    expect(await (await post("/", ["GET", key("bin")], b64)).json()).toEqual({
      result: bytes.toString("base64"),
    });
    expect(await (await post("/", ["LRANGE", key("list"), 0, -1], b64)).json()).toEqual({
      result: ["T0s=", Buffer.from("é").toString("base64"), bytes.toString("base64")],
    });
    expect(await (await post("/", ["GET", key("nothing")], b64)).json()).toEqual({ result: null });
    expect(await (await post("/", ["STRLEN", key("bin")], b64)).json()).toEqual({ result: bytes.length });
    expect(
      await (
        await post(
          "/pipeline",
          [
            ["GET", key("b")],
            ["INCR", key("b")],
          ],
          b64,
        )
      ).json(),
    ).toEqual([{ result: "aGk=" }, { error: "ERR value is not an integer or out of range" }]);
    expect(await (await post("/", ["LRANGE", key("list"), 0, 1])).json()).toEqual({ result: ["OK", "é"] });
  });

  it("rejects a missing or wrong token with 401, and the client throws", async () => {
    const wrong = new Redis({ url: rest.url, token: "wrong-token", enableAutoPipelining: false });
    await expect(wrong.get(key("s"))).rejects.toThrow(/Unauthorized/);
    await expect(new Redis({ url: rest.url, token: "wrong-token" }).set(key("s"), "x")).rejects.toThrow(
      /Unauthorized/,
    );
    const missing = await fetch(rest.url, { method: "POST", body: JSON.stringify(["PING"]) });
    expect(missing.status).toBe(401);
    expect(await missing.json()).toEqual({ error: "Unauthorized" });
    expect(await direct.exists(key("s"))).toBe(0);
  });

  it("fails promptly with a clear 503 when Redis cannot be reached", async () => {
    const port = await closedPort();
    const down = await startRedisRest({ redisUrl: `redis://127.0.0.1:${port}`, token: TOKEN, port: 0 });
    try {
      for (const redis of [
        new Redis({ url: down.url, token: TOKEN }),
        new Redis({ url: down.url, token: TOKEN, enableAutoPipelining: false }),
      ]) {
        const started = Date.now();
        await expect(redis.get("k")).rejects.toThrow(`Redis is unavailable at 127.0.0.1:${port}`);
        expect(Date.now() - started).toBeLessThan(3_000);
      }
      const response = await fetch(down.url, {
        method: "POST",
        headers: { authorization: `Bearer ${TOKEN}` },
        body: JSON.stringify(["PING"]),
      });
      expect(response.status).toBe(503);
      expect(((await response.json()) as { error: string }).error).toMatch(/ECONNREFUSED/);
    } finally {
      await down.close();
    }
  });
});
