import type { Redis } from "ioredis";
import { SETTLE_ORDER_STOCK, STOCK_SYNC_TTL_MS } from "../../../domain/stock-counter.ts";
import type { StockLevel } from "./stock-store.ts";

/**
 * The edge stock counter as the inventory step keeps it in step with Postgres (layout and scripts in
 * domain/stock-counter.ts): after each commit, the order's edge holds end (converted into a Postgres
 * reservation, or released) and the changed products' levels are recorded with their versions.
 */
export interface EdgeStock {
  settleOrder(orderId: string, levels: readonly StockLevel[]): Promise<void>;
}

export const createRedisEdgeStock = (redis: Redis): EdgeStock => ({
  async settleOrder(orderId, levels) {
    await redis.eval(
      SETTLE_ORDER_STOCK,
      0,
      orderId,
      String(STOCK_SYNC_TTL_MS),
      ...levels.flatMap((level) => [level.productId, String(level.available), String(level.version)]),
    );
  },
});
