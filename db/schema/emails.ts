import { sql } from "drizzle-orm";
import { index, pgTable, text, timestamp, uniqueIndex, uuid, varchar } from "drizzle-orm/pg-core";
import { deliveryColumns } from "./pipeline.ts";

export const EMAIL_KINDS = ["order_confirmed", "order_cancelled", "order_shipped"] as const;

/**
 * Outbox of customer emails; the unique index keeps one email of each kind per order (the email
 * consumer also sends no second outcome email: confirmation or cancellation, see email/index.ts).
 * Delivery (email/smtp-relay.ts, only with SMTP_URL) claims a row until `claimed_until`, sends it
 * outside any transaction, and records `sent_at`, or a failure with backoff; a message the server
 * refuses for good (5xx), or that failed every try, is parked.
 */
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
    ...deliveryColumns(),
    /** A sender working on the row holds it until then (it sends outside any transaction). */
    claimedUntil: timestamp("claimed_until", { withTimezone: true, mode: "date" }),
  },
  (t) => [
    uniqueIndex("emails_one_per_order_and_kind").on(t.orderId, t.kind),
    index("emails_unsent_idx").on(t.createdAt).where(sql`${t.sentAt} is null and ${t.parkedAt} is null`),
    index("emails_parked_idx").on(t.parkedAt).where(sql`${t.parkedAt} is not null`),
  ],
);

export type EmailRow = typeof emails.$inferSelect;
