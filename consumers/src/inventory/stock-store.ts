import { sql } from "drizzle-orm";
import { inventory, stockReservations } from "../../../db/schema/index.ts";
import type { Tx } from "../runtime/types.ts";

/**
 * Stock holds of orders, all in the caller's transaction, for many orders at once (a transaction's
 * batch) or one. Every function locks the inventory rows it changes first, in one global order
 * (`ORDER BY variant_id FOR UPDATE`), so concurrent batches over overlapping products queue instead
 * of deadlocking; reservation rows are touched only after that. Every change of an inventory row
 * bumps its `version`, which the admin API's `If-Match` compares (once per statement, however many
 * orders the statement moved).
 */

export interface StockLine {
  variantId: string;
  qty: number;
}

/** An inventory row's `available` after a change, and the version the change gave it. */
export interface StockLevel {
  variantId: string;
  available: number;
  version: number;
}

export type ReserveOutcome =
  /** `alreadyHeld`: holds for this order existed before (a duplicate delivery), nothing changed. */
  | { type: "reserved"; alreadyHeld: boolean; levels: StockLevel[] }
  | { type: "rejected"; shortVariantIds: string[] };

/** The rows an `update ... returning variant_id, available, version` changed, as levels. */
const levelsOf = (rows: readonly Record<string, unknown>[]): StockLevel[] =>
  rows.map((row) => ({
    variantId: String(row.variant_id),
    available: Number(row.available),
    version: Number(row.version),
  }));

/** Sums the quantity per product, so an order naming a product twice holds it once. */
const mergeLines = (lines: readonly StockLine[]): Map<string, number> => {
  const merged = new Map<string, number>();
  for (const line of lines) merged.set(line.variantId, (merged.get(line.variantId) ?? 0) + line.qty);
  return merged;
};

/**
 * Locks, in one statement and the same global order as every function here, the inventory rows of
 * `variantIds` and of every product `orderIds` hold or reserved: what a transaction of many events
 * will touch, taken up front, so two such transactions never wait on each other in a cycle.
 */
export const lockInventoryOf = async (
  tx: Tx,
  variantIds: readonly string[],
  orderIds: readonly string[],
): Promise<void> => {
  if (variantIds.length === 0 && orderIds.length === 0) return;
  await tx.execute(sql`
    select i.variant_id from ${inventory} as i
    where i.variant_id = any(${sql.param([...variantIds])}::varchar[])
       or i.variant_id in (
         select r.variant_id from ${stockReservations} as r where r.order_id = any(${sql.param([...orderIds])}::varchar[]))
    order by i.variant_id
    for update`);
};

/** An order's lines to hold. */
export interface StockOrder {
  orderId: string;
  lines: readonly StockLine[];
}

/**
 * Holds stock for each order, all of it or none, in event order (first come, first served), in three
 * statements however many orders there are:
 * 1. the inventory rows of every line, locked in the global order, with their `available`;
 * 2. which of the orders hold stock already (a duplicate delivery), read after the locks are taken,
 *    so a concurrent duplicate of an order has committed its holds by then;
 * 3. the units of all the orders that fit moved from available to reserved, ONE update per product
 *    however many orders take it (a hot product's row is written once per batch), and one `held`
 *    reservation per order and product, only if every product moved.
 * The check runs here on the locked values; the update checks `available >= qty` again, and a
 * difference rolls the transaction back rather than overselling. A product without an inventory row
 * is short. Answers each order's outcome, in order; the levels of a reserved order are its products'
 * levels after the whole batch.
 */
export const reserveStocks = async (tx: Tx, orders: readonly StockOrder[]): Promise<ReserveOutcome[]> => {
  const wanted = orders.map((order) => mergeLines(order.lines));
  const variantIds = [...new Set(wanted.flatMap((lines) => [...lines.keys()]))];
  const orderIds = [...new Set(orders.map((order) => order.orderId))];
  const locked = await tx.execute<{ variant_id: string; available: number }>(sql`
    select variant_id, available from ${inventory}
    where variant_id = any(${sql.param(variantIds)}::varchar[])
    order by variant_id
    for update`);
  const held = await tx.execute<{ order_id: string }>(sql`
    select distinct order_id from ${stockReservations}
    where order_id = any(${sql.param(orderIds)}::varchar[])`);
  const available = new Map(locked.rows.map((row) => [row.variant_id, Number(row.available)]));
  const alreadyHeld = new Set(held.rows.map((row) => row.order_id));

  const taken = new Map<string, number>();
  const holds: { orderId: string; variantId: string; qty: number }[] = [];
  const decided = orders.map((order, i): ReserveOutcome | "reserve" => {
    const lines = wanted[i] ?? new Map<string, number>();
    if (alreadyHeld.has(order.orderId)) return { type: "reserved", alreadyHeld: true, levels: [] };
    const left = (variantId: string) => (available.get(variantId) ?? 0) - (taken.get(variantId) ?? 0);
    const shortVariantIds = [...lines].filter(([variantId, qty]) => left(variantId) < qty).map(([id]) => id);
    if (shortVariantIds.length > 0) return { type: "rejected", shortVariantIds };
    for (const [variantId, qty] of lines) {
      taken.set(variantId, (taken.get(variantId) ?? 0) + qty);
      holds.push({ orderId: order.orderId, variantId, qty });
    }
    alreadyHeld.add(order.orderId);
    return "reserve";
  });
  // One statement moves the units and records the holds; the holds only if every product moved.
  const moved =
    taken.size === 0
      ? { rows: [] }
      : await tx.execute(sql`
    with wanted(variant_id, qty) as (
      select * from unnest(${sql.param([...taken.keys()])}::varchar[], ${sql.param([...taken.values()])}::integer[])
    ), moved as (
      update ${inventory} as i
      set available = i.available - v.qty, reserved = i.reserved + v.qty, version = i.version + 1,
        updated_at = now()
      from wanted as v
      where i.variant_id = v.variant_id and i.available >= v.qty
      returning i.variant_id, i.available, i.version
    ), held as (
      insert into ${stockReservations} (order_id, variant_id, qty, status)
      select h.order_id, h.variant_id, h.qty, 'held'
      from unnest(${sql.param(holds.map((h) => h.orderId))}::varchar[],
        ${sql.param(holds.map((h) => h.variantId))}::varchar[],
        ${sql.param(holds.map((h) => h.qty))}::integer[]) as h(order_id, variant_id, qty)
      where (select count(*) from moved) = ${taken.size}
    )
    select variant_id, available, version from moved`);
  if (moved.rows.length !== taken.size) {
    throw new Error(`stock changed under its locks (${moved.rows.length}/${taken.size} rows moved)`);
  }
  const levels = new Map(levelsOf(moved.rows).map((level) => [level.variantId, level]));
  return decided.map((d, i) => {
    if (d !== "reserve") return d;
    const products = [...(wanted[i] ?? new Map<string, number>()).keys()];
    return {
      type: "reserved",
      alreadyHeld: false,
      levels: products.flatMap((id) => {
        const level = levels.get(id);
        return level ? [level] : [];
      }),
    };
  });
};

/** Holds stock for one order, all or none (see `reserveStocks`). */
export const reserveStock = async (
  tx: Tx,
  orderId: string,
  lines: readonly StockLine[],
): Promise<ReserveOutcome> => {
  const [outcome] = await reserveStocks(tx, [{ orderId, lines }]);
  if (!outcome) throw new Error(`no outcome for order ${orderId}`);
  return outcome;
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
 * What happens to an order's holds, and the moves that do it:
 * - `commit`: the completion of `reserveStock` for a confirmed order, the held units are sold;
 * - `release`: its compensation, held units back to available (a pending order cancelled);
 * - `releaseAll`: a merchant cancelled a confirmed order before it shipped, committed units come back
 *   too (the saga never cancels a confirmed order, so its cancellations leave them sold);
 * - `ship`: the warehouse shipped the order, its units count as shipped (committed ones, or held ones
 *   when the shipment is handled before the confirmation). Shipped units never come back.
 * Each is safe to repeat, and safe with nothing held.
 */
export const HOLD_CHANGES = {
  commit: [COMMIT],
  release: [RELEASE_HELD],
  releaseAll: [RELEASE_HELD, RELEASE_COMMITTED],
  ship: [SHIP_HELD, SHIP_COMMITTED],
} as const satisfies Record<string, readonly HoldMove[]>;

export type HoldChange = keyof typeof HOLD_CHANGES;

/**
 * Applies each order's change to its holds and the stock rows, in ONE statement for any number of
 * orders (one text for any batch): only reservations in a move's `from` status move, so running it
 * again changes nothing. Answers, per order, the levels of the products its holds moved (after the
 * whole statement).
 * - `locked` locks the inventory rows of the holds that move (the global order), and the reservation
 *   update waits for it (it reads `locked` in its condition, evaluated first), so the inventory rows
 *   are locked before the reservation rows, as everywhere else. The status guard is re-checked on the
 *   latest row versions: of two concurrent moves only one moves the rows.
 * - The stock change is summed per product before it is applied: an update writes each row once,
 *   however many of the orders' holds name it.
 */
export const changeHolds = async (
  tx: Tx,
  changes: readonly { orderId: string; change: HoldChange }[],
): Promise<Map<string, StockLevel[]>> => {
  const moves = changes.flatMap(({ orderId, change }) =>
    HOLD_CHANGES[change].map((move: HoldMove) => ({ orderId, ...move })),
  );
  const column = <T>(pick: (move: (typeof moves)[number]) => T) => sql.param(moves.map(pick));
  const changed = await tx.execute<{
    order_id: string;
    variant_id: string;
    available: number;
    version: number;
  }>(sql`
    with m(order_id, from_status, to_status, fa, fr, fs) as (
      select * from unnest(${column((m) => m.orderId)}::varchar[], ${column((m) => m.from)}::varchar[],
        ${column((m) => m.to)}::varchar[], ${column((m) => m.effect.available)}::integer[],
        ${column((m) => m.effect.reserved)}::integer[], ${column((m) => m.effect.shipped)}::integer[])
    ), locked as (
      select i.variant_id from ${inventory} as i
      where i.variant_id in (
        select r.variant_id from ${stockReservations} as r
        join m on r.order_id = m.order_id and r.status = m.from_status)
      order by i.variant_id
      for update
    ), moved as (
      update ${stockReservations} as r set status = m.to_status, updated_at = now()
      from m
      where r.order_id = m.order_id and r.status = m.from_status and (select count(*) from locked) >= 0
      returning r.order_id, r.variant_id, r.qty * m.fa as da, r.qty * m.fr as dr, r.qty * m.fs as ds
    ), per_product as (
      select variant_id, sum(da)::integer as da, sum(dr)::integer as dr, sum(ds)::integer as ds
      from moved group by variant_id
    ), stock as (
      update ${inventory} as i
      set available = i.available + p.da, reserved = i.reserved - p.dr, shipped = i.shipped + p.ds,
        version = i.version + 1, updated_at = now()
      from per_product as p
      where i.variant_id = p.variant_id
      returning i.variant_id, i.available, i.version
    )
    select distinct h.order_id, s.variant_id, s.available, s.version
    from moved as h join stock as s on s.variant_id = h.variant_id`);
  const levels = new Map<string, StockLevel[]>();
  for (const row of changed.rows) {
    const [level] = levelsOf([row]);
    if (level) levels.set(row.order_id, [...(levels.get(row.order_id) ?? []), level]);
  }
  return levels;
};
