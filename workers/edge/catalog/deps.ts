import type { Context } from "hono";
import { dbClient, redisClient, type ServiceBindings } from "../../platform/clients.ts";
import { ReadThrough } from "./read-through.ts";
import { type CatalogDeps, catalogPolicies } from "./service.ts";

/** Bindings the catalog reads (the storefront's and the checkout worker's `Env` both have them). */
export interface CatalogBindings extends ServiceBindings {
  MEDIA_BASE_URL: string;
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

export const catalogDepsFor = (
  env: CatalogBindings,
  background: (work: Promise<unknown>) => void,
): CatalogRequestDeps => ({
  db: () => dbClient(env),
  cache: new ReadThrough({ redis: redisClient(env), background, inflight }),
  mediaBaseUrl: env.MEDIA_BASE_URL,
  policies: catalogPolicies(
    seconds(env.CATALOG_FRESH_SECONDS, 60),
    seconds(env.CATALOG_LIST_FRESH_SECONDS, 30),
  ),
  productMaxAge: seconds(env.CATALOG_MAX_AGE_SECONDS, 30),
  listMaxAge: seconds(env.CATALOG_LIST_MAX_AGE_SECONDS, 15),
});

export const catalogDeps = <E extends { Bindings: CatalogBindings }>(c: Context<E>): CatalogRequestDeps =>
  catalogDepsFor(c.env, (work) => c.executionCtx.waitUntil(work));
