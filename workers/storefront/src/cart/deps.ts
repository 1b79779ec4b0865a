import type { Context } from "hono";
import { CurrencySchema } from "../../../../domain/money.ts";
import { TOPICS } from "../../../../domain/topics.ts";
import { dbClient, kafkaClient } from "../../../platform/clients.ts";
import { catalogDeps } from "../catalog/index.ts";
import type { StorefrontEnv } from "../env.ts";
import type { CartDeps } from "./service.ts";
import { CartStore } from "./store.ts";

export const cartDeps = (c: Context<StorefrontEnv>): CartDeps => ({
  store: new CartStore(c.env),
  db: () => dbClient(c.env),
  catalog: catalogDeps(c),
  publish: (event) => kafkaClient(c.env).producer().produce(TOPICS.cartUpdated, event, { key: event.cartId }),
  background: (work) => c.executionCtx.waitUntil(work),
  defaultCurrency: CurrencySchema.catch("USD").parse(c.env.DEFAULT_CURRENCY),
});
