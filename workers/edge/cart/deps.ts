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

export const cartDepsFor = (env: CartBindings, background: (work: Promise<unknown>) => void): CartDeps => ({
  store: new CartStore(env),
  db: () => dbClient(env),
  catalog: catalogDepsFor(env, background),
  publish: (event) => publishEvent(env, TOPICS.cartUpdated, event, event.cartId),
  background,
  defaultCurrency: CurrencySchema.catch("USD").parse(env.DEFAULT_CURRENCY),
});

export const cartDeps = <E extends { Bindings: CartBindings }>(c: Context<E>): CartDeps =>
  cartDepsFor(c.env, (work) => c.executionCtx.waitUntil(work));
