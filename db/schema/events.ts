import { index, pgTable, primaryKey, timestamp, varchar } from "drizzle-orm/pg-core";

/**
 * Event ids a consumer has applied; written in the same transaction as the effect. Pruned after
 * PROCESSED_EVENTS_RETENTION_MS (runtime/retention.ts), which must outlast the topics' retention.
 */
export const processedEvents = pgTable(
  "processed_events",
  {
    consumer: varchar("consumer", { length: 64 }).notNull(),
    eventId: varchar("event_id", { length: 128 }).notNull(),
    processedAt: timestamp("processed_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.consumer, t.eventId] }),
    // BRIN: rows arrive in time order, so pruning by age costs almost nothing per insert.
    index("processed_events_processed_at_idx").using("brin", t.processedAt),
  ],
);
