import { eq, inArray, sql } from "drizzle-orm";
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

/** An inventory row's `available` after a change, and the version the change gave it. */
export interface StockLevel {
  productId: string;
  available: number;
  version: number;
}

export type ReserveOutcome =
  /** `alreadyHeld`: holds for this order existed before (a duplicate delivery), nothing changed. */
  | { type: "reserved"; alreadyHeld: boolean; levels: StockLevel[] }
  | { type: "rejected"; shortProductIds: string[] };

/** The rows an `update ... returning product_id, available, version` changed, as levels. */
const levelsOf = (rows: readonly Record<string, unknown>[]): StockLevel[] =>
  rows.map((row) => ({
    productId: String(row.product_id),
    available: Number(row.available),
    version: Number(row.version),
  }));

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

/**
 * Locks, in one statement and the same global order as every function here, the inventory rows of
 * `productIds` and of every product `orderIds` hold or reserved: what a transaction of many events
 * will touch, taken up front, so two such transactions never wait on each other in a cycle.
 */
export const lockInventoryOf = async (
  tx: Tx,
  productIds: readonly string[],
  orderIds: readonly string[],
): Promise<void> => {
  if (productIds.length === 0 && orderIds.length === 0) return;
  await tx.execute(sql`
    select i.product_id from ${inventory} as i
    where i.product_id = any(${sql.param([...productIds])}::varchar[])
       or i.product_id in (
         select r.product_id from ${stockReservations} as r where r.order_id = any(${sql.param([...orderIds])}::varchar[]))
    order by i.product_id
    for update`);
};

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
  if (existing.length > 0) return { type: "reserved", alreadyHeld: true, levels: [] };

  const available = new Map(locked.map((row) => [row.productId, row.available]));
  const shortProductIds = [...wanted]
    .filter(([productId, qty]) => (available.get(productId) ?? 0) < qty)
    .map(([productId]) => productId);
  if (shortProductIds.length > 0) return { type: "rejected", shortProductIds };

  // One statement moves the units and records the holds; the holds only if every line moved.
  const moved = await tx.execute(sql`
    with wanted(product_id, qty) as (values ${deltaValues(wanted)}),
    moved as (
      update ${inventory} as i
      set available = i.available - v.qty, reserved = i.reserved + v.qty, version = i.version + 1,
        updated_at = now()
      from wanted as v
      where i.product_id = v.product_id and i.available >= v.qty
      returning i.product_id, i.available, i.version
    ), held as (
      insert into ${stockReservations} (order_id, product_id, qty, status)
      select ${orderId}, w.product_id, w.qty, 'held' from wanted as w
      where (select count(*) from moved) = ${wanted.size}
    )
    select product_id, available, version from moved`);
  if (moved.rows.length !== wanted.size) {
    throw new Error(
      `stock of order ${orderId} changed under its locks (${moved.rows.length}/${wanted.size} rows)`,
    );
  }
  return { type: "reserved", alreadyHeld: false, levels: levelsOf(moved.rows) };
};

/** A move of an order's holds from one status to the next, and what it does to the stock row. */
interface HoldMove {
  from: "held" | "committed";
  to: "committed" | "shipped" | "released";
  /** Units added to `available`, taken from `reserved`, added to `shipped` (as 0/1 factors of qty). */
  effect: { available: 0 | 1; reserved: 0 | 1; shipped: 0 | 1 };
}

const COMMIT: HoldMove = { from: "held", to: "committed", effect: { available: 0, reserved: 1, shipped: 0 } };
const RELEASE_HELD: HoldMove = {
  from: "held",
  to: "released",
  effect: { available: 1, reserved: 1, shipped: 0 },
};
const RELEASE_COMMITTED: HoldMove = {
  from: "committed",
  to: "released",
  effect: { available: 1, reserved: 0, shipped: 0 },
};
const SHIP_COMMITTED: HoldMove = {
  from: "committed",
  to: "shipped",
  effect: { available: 0, reserved: 0, shipped: 1 },
};
/** `order-shipped` overtook `order-finalized` (another topic) at this consumer: still held, now shipped. */
const SHIP_HELD: HoldMove = {
  from: "held",
  to: "shipped",
  effect: { available: 0, reserved: 1, shipped: 1 },
};

/**
 * Moves the order's reservations in `move.from` to `move.to` and applies the stock change: committed
 * holds leave `reserved` (the goods are sold), released ones go back to `available`, shipped ones
 * are counted in `shipped`. Only rows in `move.from` move, so running it again, or on an order without
 * such rows, changes nothing. Returns the levels it changed.
 *
 * One statement: `locked` locks the inventory rows of the order's holds (the global order), and the
 * reservation update waits for it (it reads `locked` in its condition, evaluated first), so the
 * inventory rows are locked before the reservation rows, as everywhere else. The status guard is
 * re-checked on the latest row versions: of two concurrent moves only one moves the rows.
 */
const moveHolds = async (tx: Tx, orderId: string, move: HoldMove): Promise<StockLevel[]> => {
  const { available, reserved, shipped } = move.effect;
  const changed = await tx.execute(sql`
    with locked as (
      select i.product_id from ${inventory} as i
      where i.product_id in (
        select r.product_id from ${stockReservations} as r
        where r.order_id = ${orderId} and r.status = ${move.from})
      order by i.product_id
      for update
    ), moved as (
      update ${stockReservations} as r set status = ${move.to}, updated_at = now()
      where r.order_id = ${orderId} and r.status = ${move.from} and (select count(*) from locked) >= 0
      returning r.product_id, r.qty
    )
    update ${inventory} as i
    set available = i.available + ${available}::int * v.qty, reserved = i.reserved - ${reserved}::int * v.qty,
      shipped = i.shipped + ${shipped}::int * v.qty, version = i.version + 1, updated_at = now()
    from moved as v
    where i.product_id = v.product_id
    returning i.product_id, i.available, i.version`);
  return levelsOf(changed.rows);
};

/**
 * Compensation of `reserveStock`: gives the order's held stock back (a pending order cancelled). With
 * `committedToo` (a merchant cancelled a confirmed order before it shipped), committed units come
 * back as well; the saga never cancels a confirmed order, so its cancellations leave them sold.
 * Shipped units never come back. Safe with nothing held.
 */
export const releaseStock = async (
  tx: Tx,
  orderId: string,
  options: { committedToo?: boolean } = {},
): Promise<StockLevel[]> => [
  ...(await moveHolds(tx, orderId, RELEASE_HELD)),
  ...(options.committedToo ? await moveHolds(tx, orderId, RELEASE_COMMITTED) : []),
];

/** Completion of `reserveStock` for a confirmed order: the held units are sold. Safe with nothing held. */
export const commitStock = (tx: Tx, orderId: string): Promise<StockLevel[]> => moveHolds(tx, orderId, COMMIT);

/**
 * The warehouse shipped the order: its units are counted as shipped (committed ones, or held ones when
 * the shipment is handled before the confirmation). Safe to repeat.
 */
export const shipStock = async (tx: Tx, orderId: string): Promise<StockLevel[]> => [
  ...(await moveHolds(tx, orderId, SHIP_HELD)),
  ...(await moveHolds(tx, orderId, SHIP_COMMITTED)),
];
