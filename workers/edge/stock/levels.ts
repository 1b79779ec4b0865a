import { inArray } from "drizzle-orm";
import { inventory } from "../../../db/schema/index.ts";
import { AppError } from "../../../domain/errors.ts";
import type { EdgeDb } from "../../platform/clients.ts";

/** A variant's sellable units in Postgres and the inventory version they are as of. */
export interface StockLevel {
  variantId: string;
  available: number;
  version: number;
}

/** Postgres's levels of the variants; a variant without an inventory row has none to sell. */
export const readStockLevels = async (db: EdgeDb, variantIds: readonly string[]): Promise<StockLevel[]> => {
  let rows: StockLevel[];
  try {
    rows = await db
      .select({
        variantId: inventory.variantId,
        available: inventory.available,
        version: inventory.version,
      })
      .from(inventory)
      .where(inArray(inventory.variantId, [...variantIds]));
  } catch (error) {
    throw new AppError("dependency_unavailable", "stock levels could not be read", {
      cause: error,
      retryAfter: 2,
    });
  }
  const found = new Map(rows.map((row) => [row.variantId, row]));
  return variantIds.map((variantId) => found.get(variantId) ?? { variantId, available: 0, version: 0 });
};
