import { sql } from "drizzle-orm";
import { bigint, check, customType, index, pgTable, text, timestamp, varchar } from "drizzle-orm/pg-core";
import { CURRENCIES } from "../../domain/money.ts";

const tsvector = customType<{ data: string }>({ dataType: () => "tsvector" });

export const categories = pgTable("categories", {
  slug: varchar("slug", { length: 64 }).primaryKey(),
  name: text("name").notNull(),
});

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

export type ProductRow = typeof products.$inferSelect;
export type NewProductRow = typeof products.$inferInsert;
