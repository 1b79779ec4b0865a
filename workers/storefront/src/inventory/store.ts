import { and, eq, isNull, type SQL, sql } from "drizzle-orm";
import { inventory, productVariants } from "../../../../db/schema/index.ts";
import { AppError } from "../../../../domain/errors.ts";
import type { EdgeDb } from "../../../platform/clients.ts";
import { MAX_AVAILABLE, type StockInput, type StockLevel } from "./schemas.ts";

/** Stock of record in Postgres. Every write is one statement; the row lock makes it atomic. */

const unavailable = (error: unknown) =>
  new AppError("dependency_unavailable", "inventory could not be reached", { cause: error, retryAfter: 5 });

const guarded = async <T>(work: () => Promise<T>): Promise<T> => {
  try {
    return await work();
  } catch (error) {
    throw error instanceof AppError ? error : unavailable(error);
  }
};

/** The live variant (for a one-variant product, the product's id). */
const liveVariant = (variantId: string) =>
  and(eq(productVariants.id, variantId), isNull(productVariants.deletedAt));

/** Stock of a variant; a variant never stocked has 0 of each, at version 0. */
export const readStock = (db: EdgeDb, variantId: string): Promise<StockLevel> =>
  guarded(async () => {
    const [row] = await db
      .select({
        productId: productVariants.productId,
        available: inventory.available,
        reserved: inventory.reserved,
        version: inventory.version,
      })
      .from(productVariants)
      .leftJoin(inventory, eq(inventory.variantId, productVariants.id))
      .where(liveVariant(variantId));
    if (!row) throw new AppError("product_not_found", `variant ${variantId} does not exist`);
    return {
      variantId,
      productId: row.productId,
      available: row.available ?? 0,
      reserved: row.reserved ?? 0,
      version: row.version ?? 0,
    };
  });

/**
 * Sets (`available`) or adjusts (`delta`) the sellable stock in one `INSERT … ON CONFLICT DO UPDATE …
 * WHERE`: the update runs on the row as the last commit left it, under its row lock, so a reservation
 * committing at the same time is never lost or double counted, `available` never goes below zero,
 * and `ifMatch` compares the version of that same row. Units held by pending orders stay reserved.
 * A write that does not apply changes nothing and is explained by `refusal`.
 */
export const writeStock = (
  db: EdgeDb,
  variantId: string,
  input: StockInput,
  ifMatch?: number,
): Promise<StockLevel> =>
  guarded(async () => {
    const delta = "delta" in input ? input.delta : undefined;
    const stocked = sql`exists (select 1 from ${inventory} where ${inventory.variantId} = ${variantId})`;
    // Without a row the insert applies: only when nothing was expected and the result is not negative.
    const insertGuards: SQL[] = [liveVariant(variantId) ?? sql`false`];
    if (ifMatch !== undefined && ifMatch !== 0) insertGuards.push(stocked);
    if (delta !== undefined && delta < 0) insertGuards.push(stocked);
    const updateGuards: SQL[] = [];
    if (ifMatch !== undefined) updateGuards.push(sql`${inventory.version} = ${ifMatch}::bigint`);
    const next =
      delta === undefined
        ? sql`excluded.available`
        : sql`(${inventory.available}::bigint + ${delta}::bigint)`;
    if (delta !== undefined) updateGuards.push(sql`${next} between 0 and ${MAX_AVAILABLE}::bigint`);
    const initial = "available" in input ? input.available : Math.max(input.delta, 0);

    const [row] = await db
      .insert(inventory)
      .select(
        db
          .select({
            variantId: productVariants.id,
            available: sql<number>`${initial}::int`.as("available"),
            reserved: sql<number>`0`.as("reserved"),
            shipped: sql<number>`0`.as("shipped"),
            updatedAt: sql<Date>`now()`.as("updated_at"),
            version: sql<number>`1::bigint`.as("version"),
          })
          .from(productVariants)
          .where(and(...insertGuards)),
      )
      .onConflictDoUpdate({
        target: inventory.variantId,
        set: {
          available: sql`${next}::int`,
          version: sql`${inventory.version} + 1`,
          updatedAt: sql`now()`,
        },
        // A variant taken off its product is not written (its row stays for the holds naming it).
        setWhere: and(
          sql`exists (select 1 from ${productVariants} where ${liveVariant(variantId)})`,
          ...updateGuards,
        ),
      })
      .returning({
        variantId: inventory.variantId,
        available: inventory.available,
        reserved: inventory.reserved,
        version: inventory.version,
        productId: sql<string>`(select ${productVariants.productId} from ${productVariants} where ${productVariants.id} = ${variantId})`,
      });
    if (row) return row;
    throw refusal(await readStock(db, variantId), delta, ifMatch);
  });

/** Why a stock write changed nothing, from the stock as it is now (the write itself held no lock). */
const refusal = (current: StockLevel, delta: number | undefined, ifMatch: number | undefined): AppError => {
  if (ifMatch !== undefined && current.version !== ifMatch) {
    return new AppError(
      "precondition_failed",
      `stock of ${current.variantId} is at version ${current.version}, not ${ifMatch}; read it again`,
      { details: current, headers: { ETag: `"${current.version}"` } },
    );
  }
  if (delta !== undefined && current.available + delta > MAX_AVAILABLE) {
    return new AppError("invalid_request", `available would exceed ${MAX_AVAILABLE}`, {
      details: [{ path: ["delta"], available: current.available }],
    });
  }
  return new AppError(
    "insufficient_stock",
    `a delta of ${delta} would take available stock of ${current.variantId} below zero (available ${current.available})`,
    { details: { ...current, delta } },
  );
};
