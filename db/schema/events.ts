import { pgTable, primaryKey, timestamp, varchar } from "drizzle-orm/pg-core";

/** Event ids a consumer has applied; written in the same transaction as the effect. */
export const processedEvents = pgTable(
  "processed_events",
  {
    consumer: varchar("consumer", { length: 64 }).notNull(),
    eventId: varchar("event_id", { length: 128 }).notNull(),
    processedAt: timestamp("processed_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.consumer, t.eventId] })],
);
