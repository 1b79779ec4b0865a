import { pgTable, text, timestamp, uniqueIndex, uuid, varchar } from "drizzle-orm/pg-core";

export const EMAIL_KINDS = ["order_confirmed", "order_cancelled"] as const;

/** Outbox of customer emails; one final email per order is enforced by the unique index. */
export const emails = pgTable(
  "emails",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    orderId: varchar("order_id", { length: 64 }).notNull(),
    kind: varchar("kind", { length: 32, enum: EMAIL_KINDS }).notNull(),
    toAddress: text("to_address").notNull(),
    subject: text("subject").notNull(),
    body: text("body").notNull(),
    messageId: text("message_id"),
    createdAt: timestamp("created_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
    sentAt: timestamp("sent_at", { withTimezone: true, mode: "date" }),
  },
  (t) => [uniqueIndex("emails_one_final_per_order").on(t.orderId)],
);

export type EmailRow = typeof emails.$inferSelect;
