import type { Context, MiddlewareHandler } from "hono";
import { log } from "../../../platform/log.ts";

/**
 * The edge layer of the catalog: the Workers Cache API of the colo that answers. Keys use a fixed
 * internal origin and only the query parameters the route reads, so they can be purged by path and
 * unknown parameters cannot split the cache.
 */
const EDGE_ORIGIN = "https://catalog.edge.internal";
/**
 * The shape of what the catalog answers hold, part of every key: copies stored by a release whose
 * answers had another shape (before products had variants) are never read.
 */
const SHAPE = "2";
const KEY_SHAPE = "~s";

/** How long a stored answer stays usable when the origin path fails (stale-if-error), seconds. */
export const EDGE_STALE_IF_ERROR_SECONDS = 86_400;

/** Internal headers of a stored copy: when it was stored, and the answer's own Cache-Control. */
const STORED_AT = "X-Edge-Stored-At";
const CACHE_CONTROL = "X-Edge-Cache-Control";
/** The key's parameter for `keyVersion`: a name no route's query parameter has. */
const KEY_VERSION = "~v";
/** Internal header by which a route tells the version of its answer (see `stillCurrent`). */
export const VERSION = "X-Catalog-Version";

/** Headers of a failed answer that must not reach the stale copy served instead. */
const FAILURE_HEADERS = [
  "Retry-After",
  "Cache-Control",
  "Content-Length",
  "ETag",
  "Last-Modified",
  "X-Cache",
  "X-Edge-Cache",
  VERSION,
];

export const edgeCacheKey = (path: string, params: Record<string, string | undefined> = {}): Request => {
  const url = new URL(path, EDGE_ORIGIN);
  url.searchParams.set(KEY_SHAPE, SHAPE);
  for (const name of Object.keys(params).sort()) {
    const value = params[name];
    if (value !== undefined && value !== "") url.searchParams.set(name, value);
  }
  return new Request(url.toString());
};

const maxAgeOf = (cacheControl: string | null): number =>
  Number(/max-age=(\d+)/.exec(cacheControl ?? "")?.[1] ?? 0);

/** The copy to keep: held past its max-age for stale-if-error, with its own headers set aside. */
const storedCopy = (res: Response, now: number): Response => {
  const copy = new Response(res.clone().body, res);
  const cacheControl = res.headers.get("Cache-Control") ?? "";
  copy.headers.set(CACHE_CONTROL, cacheControl);
  copy.headers.set(STORED_AT, String(now));
  copy.headers.set(
    "Cache-Control",
    `public, max-age=${maxAgeOf(cacheControl) + EDGE_STALE_IF_ERROR_SECONDS}`,
  );
  copy.headers.delete("X-Edge-Cache");
  return copy;
};

/** A stored copy answered to a client, with the answer's own headers back. */
const served = (hit: Response, edge: "HIT" | "STALE"): Response => {
  const res = new Response(hit.body, hit);
  const cacheControl = res.headers.get(CACHE_CONTROL) ?? "";
  res.headers.delete(CACHE_CONTROL);
  res.headers.delete(STORED_AT);
  res.headers.set("X-Edge-Cache", edge);
  if (edge === "HIT") {
    res.headers.set("Cache-Control", cacheControl);
  } else {
    // Served because the origin path failed: downstream caches may not keep it as fresh.
    res.headers.set("Cache-Control", `public, max-age=0, stale-if-error=${EDGE_STALE_IF_ERROR_SECONDS}`);
    res.headers.set("X-Cache", "STALE");
  }
  return res;
};

export interface EdgeCacheOptions {
  /** Query parameters that are part of the key. */
  keyParams?: readonly string[];
  /** Prefixes of query parameters that are part of the key (`option.` for option filters). */
  keyParamPrefixes?: readonly string[];
  /**
   * A version the key also carries (the prices version): raising it makes every stored copy
   * unreachable at once, in every colo, without knowing which they are.
   */
  keyVersion?: (c: Context) => Promise<number>;
  /**
   * For answers that name their version in `X-Catalog-Version` (an internal header, never sent):
   * run after the answer was stored, false when a newer version was written meanwhile (the copy was
   * read before an update whose purge it then outlived), which drops it again.
   */
  stillCurrent?: (c: Context, version: number) => Promise<boolean>;
}

/**
 * Serves GETs from the edge cache while a stored answer is younger than its `max-age`. Older copies
 * are kept (stale-if-error): when the origin path then fails (5xx), the old copy is answered with
 * `X-Cache: STALE` instead of the error. Fresh 200 answers are stored (not STALE ones).
 */
export const edgeCache =
  (options: EdgeCacheOptions = {}): MiddlewareHandler =>
  async (c, next) => {
    const params: Record<string, string | undefined> = Object.fromEntries(
      (options.keyParams ?? []).map((name) => [name, c.req.query(name)]),
    );
    const prefixes = options.keyParamPrefixes ?? [];
    if (prefixes.length > 0) {
      for (const [name, values] of Object.entries(c.req.queries())) {
        if (prefixes.some((prefix) => name.startsWith(prefix))) params[name] = values.join("\u0000");
      }
    }
    if (options.keyVersion) params[KEY_VERSION] = String(await options.keyVersion(c));
    const key = edgeCacheKey(c.req.path, params);
    const cache = caches.default;
    const now = Date.now();
    const hit = await cache.match(key);
    const age = hit ? (now - Number(hit.headers.get(STORED_AT) ?? 0)) / 1000 : Number.POSITIVE_INFINITY;
    if (hit && age < maxAgeOf(hit.headers.get(CACHE_CONTROL))) return served(hit, "HIT");
    await next();
    if (c.res.status >= 500) {
      if (hit && age < maxAgeOf(hit.headers.get(CACHE_CONTROL)) + EDGE_STALE_IF_ERROR_SECONDS) {
        log("warn", "catalog origin failed; stale edge copy served", {
          path: c.req.path,
          status: c.res.status,
        });
        // Hono carries the failed answer's headers over to the one replacing it: keep only those that
        // do not describe the failure or its body (the request id, say).
        for (const name of FAILURE_HEADERS) c.res.headers.delete(name);
        c.res = served(hit, "STALE");
      }
      return;
    }
    const version = Number(c.res.headers.get(VERSION) ?? Number.NaN);
    c.res.headers.delete(VERSION);
    const maxAge = maxAgeOf(c.res.headers.get("Cache-Control"));
    if (c.res.status !== 200 || c.res.headers.get("X-Cache") === "STALE" || maxAge <= 0) return;
    c.header("X-Edge-Cache", "MISS");
    const stored = cache.put(key, storedCopy(c.res, now));
    const { stillCurrent } = options;
    c.executionCtx.waitUntil(
      stillCurrent && Number.isFinite(version)
        ? stored.then(async () => {
            if (!(await stillCurrent(c, version))) await cache.delete(key);
          })
        : stored,
    );
  };

/** Drops this colo's copies of `paths` (stored under `version` when their route has a `keyVersion`). */
export const purgeEdge = (paths: readonly string[], version?: number): Promise<boolean[]> =>
  Promise.all(
    paths.map((path) =>
      caches.default.delete(
        edgeCacheKey(path, version === undefined ? {} : { [KEY_VERSION]: String(version) }),
      ),
    ),
  );
