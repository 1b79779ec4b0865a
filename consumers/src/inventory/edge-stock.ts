import type { Redis } from "ioredis";
import { z } from "zod";
import { SETTLE_ORDER_STOCK, STOCK_COUNTER_TTL_MS } from "../../../domain/stock-counter.ts";
import { defineEffect, type EffectDefinition } from "../runtime/effects.ts";
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
      String(STOCK_COUNTER_TTL_MS),
      ...levels.flatMap((level) => [level.variantId, String(level.available), String(level.version)]),
    );
  },
});

const EdgeStockEffectSchema = z.object({
  levels: z.array(
    z
      .object({
        variantId: z.string().optional(),
        // Effects recorded before stock was kept per variant name the product, which was its one variant.
        productId: z.string().optional(),
        available: z.number().int(),
        version: z.number().int(),
      })
      .transform(({ variantId, productId, ...level }) => ({
        variantId: variantId ?? productId ?? "",
        ...level,
      })),
  ),
});

/**
 * Keeping the edge counter in step, as a durable effect keyed by the order id (recorded in the
 * inventory transaction, applied after the commit): ending the order's edge holds is idempotent, and a
 * level older than the one recorded never replaces it, so effects may run in any order, and twice.
 */
export const edgeStockEffect = (
  edgeStock: EdgeStock,
): EffectDefinition<z.infer<typeof EdgeStockEffectSchema>> =>
  defineEffect("edge-stock", EdgeStockEffectSchema, (orderId, { levels }) =>
    edgeStock.settleOrder(orderId, levels),
  );
