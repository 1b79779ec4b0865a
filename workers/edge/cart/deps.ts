import type { Context } from "hono";
import { CurrencySchema } from "../../../domain/money.ts";
import { TOPICS } from "../../../domain/topics.ts";
import { cacheRedisClient, dbClient, publishEvent } from "../../platform/clients.ts";
import { type CatalogBindings, catalogDepsFor } from "../catalog/index.ts";
import { type OriginGuard, originGuard } from "../limits/origin-guard.ts";
import type { CartDeps } from "./service.ts";
import { CartStore } from "./store.ts";

export interface CartBindings extends CatalogBindings {
  DEFAULT_CURRENCY?: string;
}

/** Built once: a zod schema built per request showed in the checkout's CPU profile. */
const DefaultCurrencySchema = CurrencySchema.catch("USD");

/** `guard`: the request's limits on reads that reach Postgres (see catalogDepsFor). */
export const cartDepsFor = (
  env: CartBindings,
  background: (work: Promise<unknown>) => void,
  guard?: OriginGuard,
): CartDeps => ({
  store: new CartStore(env),
  db: () => dbClient(env),
  cache: cacheRedisClient(env),
  ...(guard ? { guard } : {}),
  catalog: catalogDepsFor(env, background, guard),
  publish: (event) => publishEvent(env, TOPICS.cartUpdated, event, event.cartId),
  background,
  defaultCurrency: DefaultCurrencySchema.parse(env.DEFAULT_CURRENCY),
});

/** The cart of a request a client sent: its reads that reach Postgres count against its limits. */
export const cartDeps = <E extends { Bindings: CartBindings }>(c: Context<E>): CartDeps =>
  cartDepsFor(c.env, (work) => c.executionCtx.waitUntil(work), originGuard(c.env, c.req.raw.headers));
