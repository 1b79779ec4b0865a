import type { Redis } from "@upstash/redis";
import type { Context } from "hono";
import { dbClient, type EdgeDb, redisClient } from "../../../platform/clients.ts";
import { type CartDeps, cartDeps } from "../cart/index.ts";
import type { StorefrontEnv } from "../env.ts";
import { type CustomerSettings, customerSettings } from "./settings.ts";
import { type CustomerStore, customerStore } from "./store.ts";

export interface CustomersDeps {
  accounts: CustomerStore;
  db: () => EdgeDb;
  cart: CartDeps;
  /** Sessions (revocations) and the sign-in limits. */
  redis: Redis;
  tokenSecret: string | undefined;
  settings: CustomerSettings;
}

export const customersDeps = (c: Context<StorefrontEnv>): CustomersDeps => {
  const db = () => dbClient(c.env);
  return {
    accounts: customerStore(db),
    db,
    cart: cartDeps(c),
    redis: redisClient(c.env, { raw: true }),
    tokenSecret: c.env.CUSTOMER_TOKEN_SECRET,
    settings: customerSettings(c.var.settings),
  };
};
