import { integer, pgTable, text, timestamp, varchar } from "drizzle-orm/pg-core";
import { CURRENCIES } from "../../domain/money.ts";

/** `refunded`: captured, then given back because the merchant cancelled the order before it shipped. */
export const PAYMENT_STATUSES = ["authorized", "captured", "voided", "refunded", "declined"] as const;

/** One payment per order: the order id is the processor's idempotency key. */
export const payments = pgTable("payments", {
  orderId: varchar("order_id", { length: 64 }).primaryKey(),
  status: varchar("status", { length: 16, enum: PAYMENT_STATUSES }).notNull(),
  amountCents: integer("amount_cents").notNull(),
  currency: varchar("currency", { length: 3, enum: CURRENCIES }).notNull(),
  processorRef: text("processor_ref"),
  declineCode: text("decline_code"),
  createdAt: timestamp("created_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
  updatedAt: timestamp("updated_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
});

export type PaymentRow = typeof payments.$inferSelect;
