import type { MiddlewareHandler } from "hono";

/**
 * The edge layer of the catalog: the Workers Cache API of the colo that answers. Keys use a fixed
 * internal origin and only the query parameters the route reads, so they can be purged by path and
 * unknown parameters cannot split the cache.
 */
const EDGE_ORIGIN = "https://catalog.edge.internal";

export const edgeCacheKey = (path: string, params: Record<string, string | undefined> = {}): Request => {
  const url = new URL(path, EDGE_ORIGIN);
  for (const name of Object.keys(params).sort()) {
    const value = params[name];
    if (value !== undefined && value !== "") url.searchParams.set(name, value);
  }
  return new Request(url.toString());
};

/** Serves GETs from the edge cache; stores fresh 200 answers (the response's `max-age` is their TTL). */
export const edgeCache =
  (keyParams: readonly string[]): MiddlewareHandler =>
  async (c, next) => {
    const params = Object.fromEntries(keyParams.map((name) => [name, c.req.query(name)]));
    const key = edgeCacheKey(c.req.path, params);
    const cache = caches.default;
    const hit = await cache.match(key);
    if (hit) {
      const res = new Response(hit.body, hit);
      res.headers.set("X-Edge-Cache", "HIT");
      return res;
    }
    await next();
    const maxAge = Number(/max-age=(\d+)/.exec(c.res.headers.get("Cache-Control") ?? "")?.[1] ?? 0);
    if (c.res.status !== 200 || c.res.headers.get("X-Cache") === "STALE" || maxAge <= 0) return;
    c.header("X-Edge-Cache", "MISS");
    c.executionCtx.waitUntil(cache.put(key, c.res.clone()));
  };

export const purgeEdge = (paths: readonly string[]): Promise<boolean[]> =>
  Promise.all(paths.map((path) => caches.default.delete(edgeCacheKey(path))));
