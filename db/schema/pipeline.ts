import { sql } from "drizzle-orm";
import { bigserial, index, jsonb, pgTable, text, timestamp, varchar } from "drizzle-orm/pg-core";

export const INVENTORY_OUTCOMES = ["reserved", "rejected"] as const;
export const PAYMENT_OUTCOMES = ["authorized", "declined"] as const;

/** What the order-state consumer knows of each order's steps until it finalizes the order. */
export const orderProgress = pgTable("order_progress", {
  orderId: varchar("order_id", { length: 64 }).primaryKey(),
  recordedAt: timestamp("recorded_at", { withTimezone: true, mode: "date" }),
  inventory: varchar("inventory", { length: 16, enum: INVENTORY_OUTCOMES }),
  payment: varchar("payment", { length: 16, enum: PAYMENT_OUTCOMES }),
  finalizedAt: timestamp("finalized_at", { withTimezone: true, mode: "date" }),
  updatedAt: timestamp("updated_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
});

/**
 * Transactional outbox: events a consumer emits are written in the same transaction as its effect
 * and published to Kafka afterwards, so an effect is never committed without its event (or the
 * reverse).
 */
export const outbox = pgTable(
  "outbox",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    topic: text("topic").notNull(),
    key: text("key").notNull(),
    payload: jsonb("payload").$type<Record<string, unknown>>().notNull(),
    createdAt: timestamp("created_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
    publishedAt: timestamp("published_at", { withTimezone: true, mode: "date" }),
  },
  (t) => [index("outbox_unpublished_idx").on(t.id).where(sql`${t.publishedAt} is null`)],
);

export type OutboxRow = typeof outbox.$inferSelect;
