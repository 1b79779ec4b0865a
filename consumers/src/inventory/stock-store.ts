import { and, eq, inArray, sql } from "drizzle-orm";
import { inventory, stockReservations } from "../../../db/schema/index.ts";
import type { Tx } from "../runtime/types.ts";

/**
 * Stock holds of an order, all in the caller's transaction. Every function locks the inventory rows
 * it changes first, in one global order (`ORDER BY product_id FOR UPDATE`), so concurrent orders over
 * overlapping products queue instead of deadlocking; reservation rows are touched only after that.
 * Every change of an inventory row bumps its `version`, which the admin API's `If-Match` compares.
 */

export interface StockLine {
  productId: string;
  qty: number;
}

export type ReserveOutcome =
  /** `alreadyHeld`: holds for this order existed before (a duplicate delivery), nothing changed. */
  { type: "reserved"; alreadyHeld: boolean } | { type: "rejected"; shortProductIds: string[] };

/** Sums the quantity per product, so an order naming a product twice holds it once. */
const mergeLines = (lines: readonly StockLine[]): Map<string, number> => {
  const merged = new Map<string, number>();
  for (const line of lines) merged.set(line.productId, (merged.get(line.productId) ?? 0) + line.qty);
  return merged;
};

const lockInventory = (tx: Tx, productIds: readonly string[]) =>
  tx
    .select({ productId: inventory.productId, available: inventory.available })
    .from(inventory)
    .where(inArray(inventory.productId, [...productIds]))
    .orderBy(inventory.productId)
    .for("update");

const deltaValues = (deltas: ReadonlyMap<string, number>) =>
  sql.join(
    [...deltas].map(([productId, qty]) => sql`(${productId}::varchar, ${qty}::integer)`),
    sql`, `,
  );

/**
 * Holds stock for the whole order or none of it. With every line's inventory row locked, checks
 * `available >= qty` for each line; only if all pass moves the quantities from available to reserved
 * and records one `held` reservation per product. A product without an inventory row is short.
 */
export const reserveStock = async (
  tx: Tx,
  orderId: string,
  lines: readonly StockLine[],
): Promise<ReserveOutcome> => {
  const wanted = mergeLines(lines);
  const locked = await lockInventory(tx, [...wanted.keys()]);
  // Checked under the locks: a concurrent duplicate of this order has committed its holds by now.
  const existing = await tx
    .select({ productId: stockReservations.productId })
    .from(stockReservations)
    .where(eq(stockReservations.orderId, orderId))
    .limit(1);
  if (existing.length > 0) return { type: "reserved", alreadyHeld: true };

  const available = new Map(locked.map((row) => [row.productId, row.available]));
  const shortProductIds = [...wanted]
    .filter(([productId, qty]) => (available.get(productId) ?? 0) < qty)
    .map(([productId]) => productId);
  if (shortProductIds.length > 0) return { type: "rejected", shortProductIds };

  const moved = await tx.execute(sql`
    update ${inventory} as i
    set available = i.available - v.qty, reserved = i.reserved + v.qty, version = i.version + 1,
      updated_at = now()
    from (values ${deltaValues(wanted)}) as v(product_id, qty)
    where i.product_id = v.product_id and i.available >= v.qty`);
  if (moved.rowCount !== wanted.size) {
    throw new Error(
      `stock of order ${orderId} changed under its locks (${moved.rowCount}/${wanted.size} rows)`,
    );
  }
  await tx
    .insert(stockReservations)
    .values([...wanted].map(([productId, qty]) => ({ orderId, productId, qty, status: "held" as const })));
  return { type: "reserved", alreadyHeld: false };
};

export type HoldSettlement = "committed" | "released";

/**
 * Moves the order's `held` reservations to `to` and applies the stock change: committed holds leave
 * `reserved` (the goods are sold), released holds go back to `available`. Only `held` rows move, so
 * running it again, or on an order without holds, changes nothing. Returns the number of holds moved.
 */
const settleHolds = async (tx: Tx, orderId: string, to: HoldSettlement): Promise<number> => {
  const isHeld = and(eq(stockReservations.orderId, orderId), eq(stockReservations.status, "held"));
  const holds = await tx
    .select({ productId: stockReservations.productId })
    .from(stockReservations)
    .where(isHeld);
  if (holds.length === 0) return 0;
  await lockInventory(
    tx,
    holds.map((hold) => hold.productId),
  );
  // The status guard re-reads under the locks: of two concurrent settlements only one moves the rows.
  const moved = await tx
    .update(stockReservations)
    .set({ status: to, updatedAt: sql`now()` })
    .where(isHeld)
    .returning({ productId: stockReservations.productId, qty: stockReservations.qty });
  if (moved.length === 0) return 0;
  const deltas = new Map(moved.map((hold) => [hold.productId, hold.qty]));
  const restock = to === "released" ? sql`i.available + v.qty` : sql`i.available`;
  await tx.execute(sql`
    update ${inventory} as i
    set available = ${restock}, reserved = i.reserved - v.qty, version = i.version + 1, updated_at = now()
    from (values ${deltaValues(deltas)}) as v(product_id, qty)
    where i.product_id = v.product_id`);
  return moved.length;
};

/** Compensation of `reserveStock`: gives held stock back. Safe with nothing held. */
export const releaseStock = (tx: Tx, orderId: string): Promise<number> =>
  settleHolds(tx, orderId, "released");

/** Completion of `reserveStock` for a confirmed order: the held units are sold. Safe with nothing held. */
export const commitStock = (tx: Tx, orderId: string): Promise<number> =>
  settleHolds(tx, orderId, "committed");
