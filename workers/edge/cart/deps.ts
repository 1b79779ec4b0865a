import type { Context } from "hono";
import { CurrencySchema } from "../../../domain/money.ts";
import { TOPICS } from "../../../domain/topics.ts";
import { dbClient, publishEvent } from "../../platform/clients.ts";
import { type CatalogBindings, catalogDepsFor } from "../catalog/index.ts";
import type { CartDeps } from "./service.ts";
import { CartStore } from "./store.ts";

export interface CartBindings extends CatalogBindings {
  DEFAULT_CURRENCY?: string;
}

/** Built once: a zod schema built per request showed in the checkout's CPU profile. */
const DefaultCurrencySchema = CurrencySchema.catch("USD");

export const cartDepsFor = (env: CartBindings, background: (work: Promise<unknown>) => void): CartDeps => ({
  store: new CartStore(env),
  db: () => dbClient(env),
  catalog: catalogDepsFor(env, background),
  publish: (event) => publishEvent(env, TOPICS.cartUpdated, event, event.cartId),
  background,
  defaultCurrency: DefaultCurrencySchema.parse(env.DEFAULT_CURRENCY),
});

export const cartDeps = <E extends { Bindings: CartBindings }>(c: Context<E>): CartDeps =>
  cartDepsFor(c.env, (work) => c.executionCtx.waitUntil(work));
