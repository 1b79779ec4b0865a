import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import { edgeCache, edgeCacheKey, VERSION } from "./edge-cache.ts";

/** A route behind the edge cache whose answers the test decides: status, max-age, version. */
const route = (stillCurrent?: (version: number) => Promise<boolean>) => {
  const next = { status: 200, body: "v1", version: 1, maxAge: 30 };
  const app = new Hono();
  app.use("/item/:id", edgeCache(stillCurrent ? { stillCurrent: (_c, v) => stillCurrent(v) } : {}));
  app.get("/item/:id", (c) =>
    c.text(next.body, next.status as 200, {
      "Cache-Control": `public, max-age=${next.maxAge}`,
      "X-Cache": "HIT",
      [VERSION]: String(next.version),
    }),
  );
  const get = async (path: string) => {
    const ctx = createExecutionContext();
    const res = await app.fetch(new Request(`http://edge.test${path}`), {}, ctx);
    await waitOnExecutionContext(ctx);
    return { status: res.status, body: await res.text(), headers: res.headers };
  };
  return { next, get };
};

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const uniquePath = () => `/item/${crypto.randomUUID()}`;

describe("edge cache", () => {
  it("stores a fresh answer and serves it until its max-age, without the internal version header", async () => {
    const { next, get } = route();
    const path = uniquePath();
    const first = await get(path);
    expect({ edge: first.headers.get("X-Edge-Cache"), version: first.headers.get(VERSION) }).toEqual({
      edge: "MISS",
      version: null,
    });
    next.body = "v2";
    const hit = await get(path);
    expect({ body: hit.body, edge: hit.headers.get("X-Edge-Cache") }).toEqual({ body: "v1", edge: "HIT" });
    expect(hit.headers.get("Cache-Control")).toBe("public, max-age=30");
  });

  it("drops a stored copy that a newer version overtook while it was stored", async () => {
    const path = uniquePath();
    const outdated = route(async (version) => version >= 2);
    await outdated.get(path); // version 1 stored, then found outdated
    expect(await caches.default.match(edgeCacheKey(path))).toBeUndefined();
    const current = route(async () => true);
    current.next.version = 2;
    await current.get(path);
    expect(await caches.default.match(edgeCacheKey(path))).toBeDefined();
  });

  it("answers the copy past its max-age when the origin fails, marked STALE, and fresh answers when it works", async () => {
    const { next, get } = route();
    const path = uniquePath();
    next.maxAge = 1;
    await get(path);
    await sleep(1_100);
    next.status = 503;
    next.body = "down";
    const stale = await get(path);
    expect({
      status: stale.status,
      body: stale.body,
      cache: stale.headers.get("X-Cache"),
      edge: stale.headers.get("X-Edge-Cache"),
      control: stale.headers.get("Cache-Control"),
    }).toEqual({
      status: 200,
      body: "v1",
      cache: "STALE",
      edge: "STALE",
      control: "public, max-age=0, stale-if-error=86400",
    });
    next.status = 200;
    next.body = "v2";
    const fresh = await get(path);
    expect({ body: fresh.body, edge: fresh.headers.get("X-Edge-Cache") }).toEqual({
      body: "v2",
      edge: "MISS",
    });
  });

  it("passes an origin failure through when it never stored the answer", async () => {
    const { next, get } = route();
    next.status = 503;
    expect((await get(uniquePath())).status).toBe(503);
  });
});
