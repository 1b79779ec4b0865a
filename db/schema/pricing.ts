import { sql } from "drizzle-orm";
import { bigint, check, index, pgTable, primaryKey, text, timestamp, varchar } from "drizzle-orm/pg-core";
import { CURRENCIES } from "../../domain/money.ts";
import { productVariants } from "./catalog.ts";

/**
 * Scheduled prices: from `starts_at` until `ends_at` (open when null) each listed variant sells at
 * the list's price when it is below its regular one (pricing: `domain/pricing.ts`). A write replaces
 * the list's prices; ending a list sets `ends_at`, so it stays readable.
 */
export const priceLists = pgTable(
  "price_lists",
  {
    id: varchar("id", { length: 64 }).primaryKey(),
    name: text("name").notNull(),
    currency: varchar("currency", { length: 3, enum: CURRENCIES }).notNull(),
    startsAt: timestamp("starts_at", { withTimezone: true, mode: "date" }).notNull(),
    endsAt: timestamp("ends_at", { withTimezone: true, mode: "date" }),
    /** 1 on insert, one higher in every statement that changes the list. */
    version: bigint("version", { mode: "number" }).notNull().default(1),
    updatedAt: timestamp("updated_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
  },
  (t) => [
    check("price_lists_ends_not_before_start", sql`${t.endsAt} is null or ${t.endsAt} >= ${t.startsAt}`),
  ],
);

export const priceListPrices = pgTable(
  "price_list_prices",
  {
    priceListId: varchar("price_list_id", { length: 64 })
      .notNull()
      .references(() => priceLists.id, { onDelete: "cascade" }),
    /** The variant the price is for; a product with one variant has the product's id as its variant's. */
    variantId: varchar("variant_id", { length: 64 })
      .notNull()
      .references(() => productVariants.id, { onDelete: "cascade" }),
    priceCents: bigint("price_cents", { mode: "number" }).notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.priceListId, t.variantId] }),
    index("price_list_prices_variant_idx").on(t.variantId),
    check("price_list_prices_nonnegative", sql`${t.priceCents} >= 0`),
  ],
);

export type PriceListRow = typeof priceLists.$inferSelect;
