import type { Context } from "hono";
import { dbClient, redisClient } from "../../../platform/clients.ts";
import type { StorefrontEnv } from "../env.ts";
import { ReadThrough } from "./read-through.ts";
import { type CatalogDeps, catalogPolicies } from "./service.ts";

/** Origin fetches in flight in this isolate, shared by every request it serves. */
const inflight = new Map<string, Promise<unknown>>();

const seconds = (value: string | undefined, fallback: number): number => {
  const parsed = Number(value);
  return Number.isFinite(parsed) && parsed >= 0 ? parsed : fallback;
};

export interface CatalogRequestDeps extends CatalogDeps {
  productMaxAge: number;
  listMaxAge: number;
}

export const catalogDeps = (c: Context<StorefrontEnv>): CatalogRequestDeps => {
  const env = c.env;
  const redis = redisClient(env);
  return {
    db: () => dbClient(env),
    cache: new ReadThrough({ redis, background: (work) => c.executionCtx.waitUntil(work), inflight }),
    mediaBaseUrl: env.MEDIA_BASE_URL,
    policies: catalogPolicies(
      seconds(env.CATALOG_FRESH_SECONDS, 60),
      seconds(env.CATALOG_LIST_FRESH_SECONDS, 30),
    ),
    productMaxAge: seconds(env.CATALOG_MAX_AGE_SECONDS, 30),
    listMaxAge: seconds(env.CATALOG_LIST_MAX_AGE_SECONDS, 15),
  };
};
