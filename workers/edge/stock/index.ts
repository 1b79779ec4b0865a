import { dbClient, redisClient, type ServiceBindings } from "../../platform/clients.ts";
import { StockCounter } from "./counter.ts";

export { levelArgs, StockCounter } from "./counter.ts";
export { readStockLevels, type StockLevel } from "./levels.ts";

/** The edge stock counter on the worker's Redis and Postgres. */
export const stockCounter = (env: ServiceBindings): StockCounter =>
  new StockCounter(redisClient(env, { raw: true }), () => dbClient(env));
