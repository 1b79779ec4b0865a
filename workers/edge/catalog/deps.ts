import type { Context } from "hono";
import { cacheRedisClient, dbClient, redisClient } from "../../platform/clients.ts";
import { type OriginGuard, type OriginLimitBindings, originGuard } from "../limits/origin-guard.ts";
import { raisePricesVersion, readPricesVersion } from "./prices-version.ts";
import { ReadThrough } from "./read-through.ts";
import { type CatalogDeps, catalogPolicies } from "./service.ts";

/** Bindings the catalog reads (the storefront's and the checkout worker's `Env` both have them). */
export interface CatalogBindings extends OriginLimitBindings {
  MEDIA_BASE_URL: string;
  /** HMAC key of the catalog's list cursors. */
  CURSOR_SIGNING_SECRET?: string;
  CATALOG_FRESH_SECONDS?: string;
  CATALOG_LIST_FRESH_SECONDS?: string;
  CATALOG_MAX_AGE_SECONDS?: string;
  CATALOG_LIST_MAX_AGE_SECONDS?: string;
}

/** Origin fetches in flight in this isolate, shared by every request it serves. */
const inflight = new Map<string, Promise<unknown>>();

const seconds = (value: string | undefined, fallback: number): number => {
  const parsed = Number(value);
  return value !== undefined && value !== "" && Number.isFinite(parsed) && parsed >= 0 ? parsed : fallback;
};

export interface CatalogRequestDeps extends CatalogDeps {
  productMaxAge: number;
  listMaxAge: number;
}

/**
 * The catalog of one request. `guard`: the request's limits on reads that reach Postgres (the
 * storefront's catalog and cart routes); without one, reads are not limited here (checkout, behind
 * its own per-client limit).
 */
export const catalogDepsFor = (
  env: CatalogBindings,
  background: (work: Promise<unknown>) => void,
  guard?: OriginGuard,
): CatalogRequestDeps => ({
  db: () => dbClient(env),
  cache: new ReadThrough({ redis: redisClient(env), background, inflight, ...(guard ? { guard } : {}) }),
  pages: new ReadThrough({ redis: cacheRedisClient(env), background, inflight, ...(guard ? { guard } : {}) }),
  cursorSecret: env.CURSOR_SIGNING_SECRET,
  pricesVersion: () => readPricesVersion(redisClient(env), env.UPSTASH_REDIS_REST_URL),
  raisePricesVersion: () => raisePricesVersion(redisClient(env), env.UPSTASH_REDIS_REST_URL),
  mediaBaseUrl: env.MEDIA_BASE_URL,
  policies: catalogPolicies(
    seconds(env.CATALOG_FRESH_SECONDS, 60),
    seconds(env.CATALOG_LIST_FRESH_SECONDS, 30),
  ),
  productMaxAge: seconds(env.CATALOG_MAX_AGE_SECONDS, 30),
  listMaxAge: seconds(env.CATALOG_LIST_MAX_AGE_SECONDS, 15),
});

/** The catalog of a request a client sent: its reads that reach Postgres count against its limits. */
export const catalogDeps = <E extends { Bindings: CatalogBindings }>(c: Context<E>): CatalogRequestDeps =>
  catalogDepsFor(c.env, (work) => c.executionCtx.waitUntil(work), originGuard(c.env, c.req.raw.headers));
