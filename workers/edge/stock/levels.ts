import { inArray } from "drizzle-orm";
import { inventory } from "../../../db/schema/index.ts";
import { AppError } from "../../../domain/errors.ts";
import type { EdgeDb } from "../../platform/clients.ts";

/** A product's sellable units in Postgres and the inventory version they are as of. */
export interface StockLevel {
  productId: string;
  available: number;
  version: number;
}

/** Postgres's levels of the products; a product without an inventory row has none to sell. */
export const readStockLevels = async (db: EdgeDb, productIds: readonly string[]): Promise<StockLevel[]> => {
  let rows: StockLevel[];
  try {
    rows = await db
      .select({
        productId: inventory.productId,
        available: inventory.available,
        version: inventory.version,
      })
      .from(inventory)
      .where(inArray(inventory.productId, [...productIds]));
  } catch (error) {
    throw new AppError("dependency_unavailable", "stock levels could not be read", {
      cause: error,
      retryAfter: 2,
    });
  }
  const found = new Map(rows.map((row) => [row.productId, row]));
  return productIds.map((productId) => found.get(productId) ?? { productId, available: 0, version: 0 });
};
