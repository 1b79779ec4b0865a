import { sql } from "drizzle-orm";
import {
  bigint,
  check,
  customType,
  index,
  integer,
  jsonb,
  pgTable,
  text,
  timestamp,
  uniqueIndex,
  varchar,
} from "drizzle-orm/pg-core";
import { CURRENCIES } from "../../domain/money.ts";

const tsvector = customType<{ data: string }>({ dataType: () => "tsvector" });

export const categories = pgTable("categories", {
  slug: varchar("slug", { length: 64 }).primaryKey(),
  name: text("name").notNull(),
});

/** A product's option (e.g. Size) and the values its variants may take, in display order. */
export interface ProductOption {
  name: string;
  values: string[];
}

/**
 * A product: what it is and how it is shown. What is sold is its variants (`product_variants`): every
 * product has at least one. `sku` and `price_cents` repeat its first variant's, for listings.
 */
export const products = pgTable(
  "products",
  {
    id: varchar("id", { length: 64 }).primaryKey(),
    sku: varchar("sku", { length: 64 }).notNull().unique(),
    name: text("name").notNull(),
    description: text("description").notNull().default(""),
    priceCents: bigint("price_cents", { mode: "number" }).notNull(),
    currency: varchar("currency", { length: 3, enum: CURRENCIES }).notNull(),
    category: varchar("category", { length: 64 })
      .notNull()
      .references(() => categories.slug),
    imageKeys: text("image_keys").array().notNull().default(sql`'{}'::text[]`),
    options: jsonb("options").$type<ProductOption[]>().notNull().default([]),
    search: tsvector("search")
      .notNull()
      .generatedAlwaysAs(
        sql`setweight(to_tsvector('english', coalesce(name, '')), 'A') || setweight(to_tsvector('english', coalesce(description, '')), 'B')`,
      ),
    createdAt: timestamp("created_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
    updatedAt: timestamp("updated_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
    /**
     * Assigned by Postgres: 1 on insert, `version + 1` in every statement that changes the row, so
     * racing writes get distinct versions in commit order. Caches keep the highest version they saw.
     */
    version: bigint("version", { mode: "number" }).notNull().default(1),
  },
  (t) => [
    check("products_price_nonnegative", sql`${t.priceCents} >= 0`),
    index("products_search_idx").using("gin", t.search),
    index("products_category_id_idx").on(t.category, t.id),
  ],
);

/**
 * What is sold: one row per variant, with its own SKU, option values, regular price and picture; its
 * stock is `inventory`'s row of the same id. A product written without variants has one, whose id is
 * the product's. A variant taken off its product is kept with `deleted_at` set (its stock, holds and
 * order lines still name it) and its id is never given to another product.
 */
export const productVariants = pgTable(
  "product_variants",
  {
    id: varchar("id", { length: 64 }).primaryKey(),
    productId: varchar("product_id", { length: 64 })
      .notNull()
      .references(() => products.id, { onDelete: "cascade" }),
    sku: varchar("sku", { length: 64 }).notNull(),
    /** Option name → value, one per option of the product (`{}` when it has none). */
    options: jsonb("options").$type<Record<string, string>>().notNull().default({}),
    priceCents: bigint("price_cents", { mode: "number" }).notNull(),
    imageKey: text("image_key"),
    /** Its place among the product's variants. */
    position: integer("position").notNull().default(0),
    deletedAt: timestamp("deleted_at", { withTimezone: true, mode: "date" }),
  },
  (t) => [
    check("product_variants_price_nonnegative", sql`${t.priceCents} >= 0`),
    // Live variants by product, in order: the partial index matches every read of a product's live
    // variants exactly (a plain one lost to the live-SKU index in the planner's estimates).
    index("product_variants_live_idx").on(t.productId, t.position).where(sql`${t.deletedAt} is null`),
    // Every variant of a product: those taken off it, and the cascade when a product is deleted.
    index("product_variants_product_idx").on(t.productId),
    uniqueIndex("product_variants_live_sku_idx").on(t.sku).where(sql`${t.deletedAt} is null`),
    index("product_variants_options_idx").using("gin", sql`${t.options} jsonb_path_ops`),
  ],
);

export type ProductRow = typeof products.$inferSelect;
export type NewProductRow = typeof products.$inferInsert;
