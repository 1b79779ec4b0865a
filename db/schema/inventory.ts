import { sql } from "drizzle-orm";
import { bigint, check, integer, pgTable, primaryKey, timestamp, varchar } from "drizzle-orm/pg-core";
import { productVariants } from "./catalog.ts";

/**
 * Stock of record, per variant: `available` can be sold, `reserved` is held by pending orders, `shipped` counts
 * the units the warehouse has sent out (sold for good).
 */
export const inventory = pgTable(
  "inventory",
  {
    variantId: varchar("variant_id", { length: 64 })
      .primaryKey()
      .references(() => productVariants.id, { onDelete: "cascade" }),
    available: integer("available").notNull().default(0),
    reserved: integer("reserved").notNull().default(0),
    shipped: integer("shipped").notNull().default(0),
    updatedAt: timestamp("updated_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
    /**
     * Assigned by Postgres: 1 on insert, `version + 1` in every statement that changes the row (admin
     * writes, reservations, releases), so `If-Match` can tell whether anything changed since a read.
     */
    version: bigint("version", { mode: "number" }).notNull().default(1),
  },
  (t) => [
    check("inventory_available_nonnegative", sql`${t.available} >= 0`),
    check("inventory_reserved_nonnegative", sql`${t.reserved} >= 0`),
    check("inventory_shipped_nonnegative", sql`${t.shipped} >= 0`),
  ],
);

/** `held` (pending order) → `committed` (confirmed) → `shipped`; or `released` (cancelled, not shipped). */
export const RESERVATION_STATUSES = ["held", "committed", "shipped", "released"] as const;

/** One hold per order and variant, so reserving and releasing are idempotent per order. */
export const stockReservations = pgTable(
  "stock_reservations",
  {
    orderId: varchar("order_id", { length: 64 }).notNull(),
    variantId: varchar("variant_id", { length: 64 })
      .notNull()
      .references(() => productVariants.id),
    qty: integer("qty").notNull(),
    status: varchar("status", { length: 16, enum: RESERVATION_STATUSES }).notNull(),
    createdAt: timestamp("created_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
    updatedAt: timestamp("updated_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.orderId, t.variantId] }),
    check("stock_reservations_qty_positive", sql`${t.qty} > 0`),
  ],
);

export type InventoryRow = typeof inventory.$inferSelect;
