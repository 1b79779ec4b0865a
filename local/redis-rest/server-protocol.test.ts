import { randomBytes, randomUUID } from "node:crypto";
import { connect, createServer, type Server, type Socket } from "node:net";
import { Redis } from "@upstash/redis";
import { Redis as IORedis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RedisRestServer, startRedisRest } from "./server.ts";

const REDIS_URL = "redis://127.0.0.1:6379/15";
const TOKEN = `test-${randomUUID()}`;
const prefix = `redis-rest-protocol-test:${randomUUID()}:`;
const key = (name: string): string => `${prefix}${name}`;

let rest: RedisRestServer;
let direct: IORedis;
let redis: Redis;

const request = (path: string, init: RequestInit = {}): Promise<Response> =>
  fetch(`${rest.url}${path}`, { ...init, headers: { authorization: `Bearer ${TOKEN}`, ...init.headers } });
const post = (path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> =>
  request(path, { method: "POST", body: JSON.stringify(body), headers });
const json = async (response: Response): Promise<unknown> => response.json();

beforeAll(async () => {
  direct = new IORedis(REDIS_URL);
  rest = await startRedisRest({ redisUrl: REDIS_URL, token: TOKEN, port: 0 });
  redis = new Redis({ url: rest.url, token: TOKEN, enableAutoPipelining: false });
});

afterAll(async () => {
  const keys = await direct.keys(`${prefix}*`);
  if (keys.length > 0) await direct.del(...keys);
  await rest.close();
  await direct.quit();
});

describe("path-form commands", () => {
  it("runs /cmd/arg/... with query parameters as trailing arguments", async () => {
    expect(await json(await request(`/set/${encodeURIComponent(key("a/b c"))}/v%C3%A9?EX=100`))).toEqual({
      result: "OK",
    });
    expect(await direct.get(key("a/b c"))).toBe("vé");
    expect(await direct.ttl(key("a/b c"))).toBeGreaterThan(95);
    expect(await json(await request(`/get/${encodeURIComponent(key("a/b c"))}`))).toEqual({ result: "vé" });
  });

  it("appends a POST or PUT body as the last argument, byte for byte", async () => {
    const bytes = randomBytes(300);
    const path = `/set/${encodeURIComponent(key("raw"))}`;
    expect(await json(await request(path, { method: "POST", body: bytes }))).toEqual({ result: "OK" });
    expect(await direct.getBuffer(key("raw"))).toEqual(bytes);
    expect(await json(await request(`${path}?NX`, { method: "PUT", body: "other" }))).toEqual({
      result: null,
    });
    const read = await request(`/get/${encodeURIComponent(key("raw"))}`, {
      headers: { "upstash-encoding": "base64" },
    });
    expect(Buffer.from(((await read.json()) as { result: string }).result, "base64")).toEqual(bytes);
  });

  it("accepts the token as the _token query parameter", async () => {
    expect((await fetch(`${rest.url}/ping?_token=${TOKEN}`)).status).toBe(200);
    expect(await json(await fetch(`${rest.url}/ping?_token=nope`))).toEqual({ error: "Unauthorized" });
  });
});

describe("requests the endpoint refuses", () => {
  it("answers 400 with a clear message for malformed bodies and 405 for other methods", async () => {
    const notJson = await request("/", { method: "POST", body: "SET a b" });
    expect(notJson.status).toBe(400);
    expect(await json(notJson)).toEqual({ error: expect.stringMatching(/not valid JSON/) });
    expect(await json(await post("/", { command: "PING" }))).toEqual({
      error: expect.stringMatching(/must be a JSON array/),
    });
    expect((await post("/pipeline", ["GET", "x"])).status).toBe(400);
    expect((await request("/get/x", { method: "DELETE" })).status).toBe(405);
  });

  it("refuses commands that would hold or change the shared connection", async () => {
    await expect(redis.exec(["SUBSCRIBE", "channel"])).rejects.toThrow(/SUBSCRIBE holds the connection/);
    await expect(redis.exec(["MONITOR"])).rejects.toThrow(/MONITOR holds the connection/);
    await expect(redis.exec(["MULTI"])).rejects.toThrow(/\/multi-exec/);
    await expect(redis.exec(["WATCH", key("w")])).rejects.toThrow(/WATCH is not available/);
    await expect(redis.exec(["CLIENT", "REPLY", "OFF"])).rejects.toThrow(/CLIENT REPLY would change/);
    await expect(redis.exec(["BLPOP", key("q"), "0"])).rejects.toThrow(/timeout 0 would block forever/);
    await expect(redis.exec(["XREAD", "BLOCK", "0", "STREAMS", key("st"), "$"])).rejects.toThrow(
      /XREAD with timeout 0/,
    );
    await expect(redis.exec(["SELECT", "0"])).rejects.toThrow(/SELECT would change/);
    // The shared connection is still on database 15.
    await redis.set(key("still-15"), "yes");
    expect(await direct.get(key("still-15"))).toBe("yes");
  });

  it("refuses such a command inside a pipeline on its own, and discards a transaction holding one", async () => {
    const piped = await post("/pipeline", [
      ["SET", key("pl"), "1"],
      ["SELECT", "2"],
      ["GET", key("pl")],
    ]);
    expect(await json(piped)).toEqual([
      { result: "OK" },
      { error: expect.stringMatching(/^ERR SELECT would change/) },
      { result: "1" },
    ]);
    const tx = await post("/multi-exec", [
      ["SET", key("tx"), "1"],
      ["SUBSCRIBE", "c"],
    ]);
    expect(await json(tx)).toEqual([
      { error: expect.stringMatching(/^EXECABORT/) },
      { error: expect.stringMatching(/^ERR SUBSCRIBE holds the connection/) },
    ]);
    expect(await direct.exists(key("tx"))).toBe(0);
  });
});

describe("blocking commands and transactions", () => {
  it("runs a blocking command with a timeout on its own connection, not stalling other requests", async () => {
    const started = Date.now();
    const blocked = redis
      .exec<null>(["BLPOP", key("empty"), "1"])
      .then((result) => ({ result, at: Date.now() }));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await redis.incr(key("meanwhile"))).toBe(1);
    const quickAt = Date.now();
    const { result, at } = await blocked;
    expect(result).toBeNull();
    expect(quickAt - started).toBeLessThan(600);
    expect(at - started).toBeGreaterThanOrEqual(900);

    const waiting = redis.exec<[string, string]>(["BRPOP", key("jobs"), "5"]);
    await new Promise((resolve) => setTimeout(resolve, 100));
    await direct.lpush(key("jobs"), "job-1");
    expect(await waiting).toEqual([key("jobs"), "job-1"]);
  });

  it("runs /multi-exec as a real MULTI: a blocking command in it returns at once", async () => {
    const started = Date.now();
    const response = await post("/multi-exec", [
      ["BLPOP", key("never"), "0"],
      ["SET", key("after-blpop"), "v"],
    ]);
    expect(await json(response)).toEqual([{ result: null }, { result: "OK" }]);
    expect(Date.now() - started).toBeLessThan(1_000);
  });
});

describe("read-your-writes sync token", () => {
  it("sends an upstash-sync-token that counts the requests served, and the client keeps it", async () => {
    const first = Number((await post("/", ["PING"])).headers.get("upstash-sync-token"));
    const second = Number((await post("/pipeline", [["PING"], ["PING"]])).headers.get("upstash-sync-token"));
    expect(first).toBeGreaterThan(0);
    // One per request, a pipeline included: the benchmarks count REST round trips with it.
    expect(second).toBe(first + 1);
    const client = new Redis({ url: rest.url, token: TOKEN });
    await client.set(key("ryw"), "1");
    expect(client.readYourWritesSyncToken).toMatch(/^\d+$/);
  });
});

/** A TCP proxy in front of the real Redis that the test can take down and bring back. */
const startProxy = async (port = 0): Promise<{ port: number; stop(): Promise<void> }> => {
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(6379, "127.0.0.1");
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on("error", () => socket.destroy());
      socket.on("close", () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("proxy has no port");
  const stop = async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return { port: address.port, stop };
};

describe("Redis going away and coming back", () => {
  it("answers 503 promptly while Redis is gone and recovers once it is back", async () => {
    let proxy = await startProxy();
    const endpoint = await startRedisRest({
      redisUrl: `redis://127.0.0.1:${proxy.port}/15`,
      token: TOKEN,
      port: 0,
    });
    const client = new Redis({ url: endpoint.url, token: TOKEN });
    try {
      await client.set(key("outage"), "before");
      await proxy.stop();
      for (let i = 0; i < 3; i++) {
        const started = Date.now();
        await expect(client.get(key("outage"))).rejects.toThrow(/Redis is unavailable at 127\.0\.0\.1/);
        expect(Date.now() - started).toBeLessThan(1_500);
      }
      proxy = await startProxy(proxy.port);
      let value: unknown;
      for (let i = 0; i < 50 && value === undefined; i++) {
        value = await client.get(key("outage")).catch(() => undefined);
        if (value === undefined) await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(value).toBe("before");
    } finally {
      await endpoint.close();
      await proxy.stop();
    }
  });
});
