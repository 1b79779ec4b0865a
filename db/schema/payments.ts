import { sql } from "drizzle-orm";
import { bigint, index, pgTable, text, timestamp, varchar } from "drizzle-orm/pg-core";
import { CURRENCIES } from "../../domain/money.ts";

/**
 * `requested`: the authorization was asked for and its answer is not known yet (the row is written
 * before the processor is called, so a timeout never leaves an authorization the system does not
 * know it may hold). `requires_action`: the card issuer waits for the shopper (3-D Secure), who
 * finishes it with `client_secret`. `refunded`: captured, then given back because the merchant
 * cancelled the order before it shipped.
 */
export const PAYMENT_STATUSES = [
  "requested",
  "requires_action",
  "authorized",
  "captured",
  "voided",
  "refunded",
  "declined",
] as const;

/**
 * One payment per order: the order id is the processor's idempotency key. `requested_at` is when the
 * payment step started on the order: the saga's payment deadline counts from it.
 */
export const payments = pgTable(
  "payments",
  {
    orderId: varchar("order_id", { length: 64 }).primaryKey(),
    status: varchar("status", { length: 16, enum: PAYMENT_STATUSES }).notNull(),
    amountCents: bigint("amount_cents", { mode: "number" }).notNull(),
    currency: varchar("currency", { length: 3, enum: CURRENCIES }).notNull(),
    processorRef: text("processor_ref"),
    declineCode: text("decline_code"),
    /** While `requires_action`: what the shopper's frontend finishes the payment with. */
    clientSecret: text("client_secret"),
    /** When the issuer first asked for the shopper: the action's limit counts from it. */
    actionRequestedAt: timestamp("action_requested_at", { withTimezone: true, mode: "date" }),
    requestedAt: timestamp("requested_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
    /** When the processor's first answer was recorded (authorized, declined, or needs the shopper). */
    answeredAt: timestamp("answered_at", { withTimezone: true, mode: "date" }),
    createdAt: timestamp("created_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
    updatedAt: timestamp("updated_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
    /**
     * When reconciliation last compared a payment whose authorization's answer was never recorded
     * (`requested`, or voided without a processor reference) with what the processor holds.
     */
    reconciledAt: timestamp("reconciled_at", { withTimezone: true, mode: "date" }),
  },
  (t) => [
    // Authorizations still unanswered, for the saga deadline: few at any time.
    index("payments_requested_idx").on(t.requestedAt).where(sql`${t.status} = 'requested'`),
    // Payments waiting for the shopper, for the action's limit: few at any time.
    index("payments_action_idx").on(t.actionRequestedAt).where(sql`${t.status} = 'requires_action'`),
    // What reconciliation looks at: answers never recorded and not settled by it yet; few at any time.
    index("payments_unreconciled_idx")
      .on(t.updatedAt)
      .where(
        sql`${t.processorRef} is null and ${t.reconciledAt} is null and ${t.status} in ('requested', 'voided')`,
      ),
  ],
);

export type PaymentRow = typeof payments.$inferSelect;
