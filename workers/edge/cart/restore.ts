import { eq } from "drizzle-orm";
import { cartSnapshots, type DurableCartLine } from "../../../db/schema/index.ts";
import { AppError } from "../../../domain/errors.ts";
import type { EdgeDb } from "../../platform/clients.ts";
import { CART_TTL_MS } from "./schemas.ts";
import type { StoredCart } from "./store.ts";

/**
 * The durable copy of a cart, written by the cart-persistence consumer. Read only when Redis has
 * lost the cart; a deleted or expired copy is not a cart.
 */
export const loadSnapshot = async (db: EdgeDb, cartId: string, nowMs: number): Promise<StoredCart | null> => {
  let row: { items: DurableCartLine[]; updatedAt: Date; deleted: boolean } | undefined;
  try {
    [row] = await db
      .select({
        items: cartSnapshots.items,
        updatedAt: cartSnapshots.updatedAt,
        deleted: cartSnapshots.deleted,
      })
      .from(cartSnapshots)
      .where(eq(cartSnapshots.cartId, cartId));
  } catch (error) {
    throw new AppError("dependency_unavailable", "the cart could not be restored", {
      cause: error,
      retryAfter: 5,
    });
  }
  if (!row || row.deleted || row.updatedAt.getTime() + CART_TTL_MS <= nowMs) return null;
  const lines = row.items.map((line) => ({ variantId: line.variantId ?? line.productId, qty: line.qty }));
  return { cartId, lines, updatedAtMs: row.updatedAt.getTime() };
};
