import { eq, sql } from "drizzle-orm";
import { inventory, products } from "../../../../db/schema/index.ts";
import { AppError } from "../../../../domain/errors.ts";
import type { EdgeDb } from "../../../platform/clients.ts";

export interface StockLevel {
  productId: string;
  available: number;
  reserved: number;
}

const unavailable = (error: unknown) =>
  new AppError("dependency_unavailable", "inventory could not be reached", { cause: error, retryAfter: 5 });

export const readStock = async (db: EdgeDb, productId: string): Promise<StockLevel> => {
  try {
    const [row] = await db
      .select({ productId: products.id, available: inventory.available, reserved: inventory.reserved })
      .from(products)
      .leftJoin(inventory, eq(inventory.productId, products.id))
      .where(eq(products.id, productId));
    if (!row) throw new AppError("product_not_found", `product ${productId} does not exist`);
    return { productId, available: row.available ?? 0, reserved: row.reserved ?? 0 };
  } catch (error) {
    throw error instanceof AppError ? error : unavailable(error);
  }
};

/** Sets the sellable stock of a product; what pending orders hold stays reserved. */
export const setAvailable = async (db: EdgeDb, productId: string, available: number): Promise<StockLevel> => {
  try {
    const rows = await db
      .insert(inventory)
      .select(
        db
          .select({
            productId: products.id,
            available: sql<number>`${available}::int`.as("available"),
            reserved: sql<number>`0`.as("reserved"),
            updatedAt: sql<Date>`now()`.as("updated_at"),
          })
          .from(products)
          .where(eq(products.id, productId)),
      )
      .onConflictDoUpdate({ target: inventory.productId, set: { available, updatedAt: sql`now()` } })
      .returning({
        productId: inventory.productId,
        available: inventory.available,
        reserved: inventory.reserved,
      });
    const [row] = rows;
    if (!row) throw new AppError("product_not_found", `product ${productId} does not exist`);
    return row;
  } catch (error) {
    throw error instanceof AppError ? error : unavailable(error);
  }
};
