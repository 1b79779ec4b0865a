import { boolean, jsonb, pgTable, timestamp, varchar } from "drizzle-orm/pg-core";

/** A cart line as kept: its variant and product (copies written before variants name the product only, which was its one variant). */
export interface DurableCartLine {
  productId: string;
  variantId?: string;
  qty: number;
}

/** Durable copy of a Redis cart, written from `cart-updated`; the newest `updatedAt` wins. */
export const cartSnapshots = pgTable("cart_snapshots", {
  cartId: varchar("cart_id", { length: 64 }).primaryKey(),
  items: jsonb("items").$type<DurableCartLine[]>().notNull(),
  updatedAt: timestamp("updated_at", { withTimezone: true, mode: "date" }).notNull(),
  /** A deleted cart stays as a tombstone so it is never restored. */
  deleted: boolean("deleted").notNull().default(false),
  eventId: varchar("event_id", { length: 128 }).notNull(),
});

export type CartSnapshotRow = typeof cartSnapshots.$inferSelect;
