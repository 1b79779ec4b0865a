import { sql } from "drizzle-orm";
import { check, pgTable, text, timestamp, uniqueIndex, varchar } from "drizzle-orm/pg-core";

/**
 * Customer accounts. `email` is stored normalised (trimmed, lower case) and unique, so sign-up and
 * sign-in compare case-insensitively. `password_hash` carries its own parameters
 * (`pbkdf2-sha256$<iterations>$<salt>$<hash>`), so they can be raised without a migration.
 * `cart_id` is the customer's one cart (a Redis cart id), set on first use and replaced only when
 * that cart is gone for good.
 */
export const customers = pgTable(
  "customers",
  {
    customerId: varchar("customer_id", { length: 64 }).primaryKey(),
    email: varchar("email", { length: 254 }).notNull(),
    name: varchar("name", { length: 200 }),
    passwordHash: text("password_hash").notNull(),
    cartId: varchar("cart_id", { length: 64 }),
    createdAt: timestamp("created_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex("customers_email_idx").on(t.email),
    check("customers_email_normalised", sql`${t.email} = lower(btrim(${t.email}))`),
  ],
);

export type CustomerRow = typeof customers.$inferSelect;
