import { sql } from "drizzle-orm";
import {
  bigint,
  bigserial,
  customType,
  index,
  integer,
  jsonb,
  pgTable,
  text,
  timestamp,
  varchar,
} from "drizzle-orm/pg-core";

/** Bytes exactly as they were (Postgres `bytea`). */
const bytea = customType<{ data: Uint8Array; driverData: Uint8Array }>({ dataType: () => "bytea" });

/**
 * What the order saga's join knows of each order until it decides it: `steps` maps each step's name
 * to its first outcome (consumers/src/saga/order-saga.ts declares them), so a new step needs no column.
 */
export const orderProgress = pgTable("order_progress", {
  orderId: varchar("order_id", { length: 64 }).primaryKey(),
  steps: jsonb("steps").$type<Record<string, string>>().notNull().default({}),
  finalizedAt: timestamp("finalized_at", { withTimezone: true, mode: "date" }),
  updatedAt: timestamp("updated_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
});

/** When a row of a delivery queue (outbox, effects, emails) may be tried again, and why it failed. */
export const deliveryColumns = () => ({
  /** Failed tries so far; the row is parked (given up on, kept for replay) after the last one. */
  attempts: integer("attempts").notNull().default(0),
  nextAttemptAt: timestamp("next_attempt_at", { withTimezone: true, mode: "date" }),
  lastError: text("last_error"),
  /** Set when the row was given up on: skipped until an operator replays it (`npm run dlq -- parked`). */
  parkedAt: timestamp("parked_at", { withTimezone: true, mode: "date" }),
});

/**
 * Transactional outbox: events a consumer emits are written in the same transaction as its effect
 * and published to Kafka afterwards, so an effect is never committed without its event (or the
 * reverse). A row Kafka refuses (a missing topic, a record too large) is retried with backoff and
 * then parked; the rows after it with the same topic and key wait for it, the others flow on.
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
    ...deliveryColumns(),
  },
  (t) => [
    index("outbox_unpublished_idx").on(t.id).where(sql`${t.publishedAt} is null`),
    // Keys held back by a failed row: few, looked up on every relay pass.
    index("outbox_failing_idx").on(t.topic, t.key).where(sql`${t.publishedAt} is null and ${t.attempts} > 0`),
  ],
);

export type OutboxRow = typeof outbox.$inferSelect;

/**
 * Durable side effects: work on another system (the Redis status record, the edge stock counter)
 * that must follow a commit. Recorded in the same transaction as the change that calls for it and
 * applied by a relay (runtime/effects.ts), so a crash never loses one and an outage of that system
 * delays it without stopping the Postgres side. Applied rows are deleted. `scope` is the run's
 * Kafka topic prefix (production: ""): a relay applies only its own run's rows.
 */
export const effects = pgTable(
  "effects",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    scope: text("scope").notNull().default(""),
    kind: varchar("kind", { length: 64 }).notNull(),
    key: text("key").notNull(),
    payload: jsonb("payload").$type<Record<string, unknown>>().notNull(),
    createdAt: timestamp("created_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
    ...deliveryColumns(),
  },
  (t) => [index("effects_due_idx").on(t.scope, t.id).where(sql`${t.parkedAt} is null`)],
);

export type EffectRow = typeof effects.$inferSelect;

/**
 * Events a consumer could not apply yet, taken out of their partition so the events behind them flow
 * on (runtime/parked.ts): `failed` (a processor timing out, a failing handler: tried again with
 * backoff), `dead` (never going to succeed: not JSON, failing its schema, refused; it goes to the
 * dead-letter topic next), and `behind` (a later event of the same consumer, topic and key, waiting
 * for the first, so one order's events keep their order). A retrier works on the first of each key;
 * after its retry budget a failed event goes to the dead-letter topic like any other.
 */
export const PARK_REASONS = ["failed", "dead", "behind"] as const;

export const parkedEvents = pgTable(
  "parked_events",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    consumer: varchar("consumer", { length: 64 }).notNull(),
    /** The Kafka topic it was read from (the run's prefix included). */
    topic: text("topic").notNull(),
    key: text("key").notNull(),
    partition: integer("partition").notNull(),
    offset: bigint("offset", { mode: "bigint" }).notNull(),
    /** Null for a message that did not parse. */
    eventId: varchar("event_id", { length: 128 }),
    /**
     * The message as read, for the retry and the dead letter: its value byte for byte (junk included),
     * and its headers as UTF-8 text (a NUL, which Postgres text cannot hold, as U+FFFD).
     */
    value: bytea("value").notNull(),
    headers: jsonb("headers").$type<Array<[string, string]>>().notNull().default([]),
    reason: varchar("reason", { length: 16, enum: PARK_REASONS }).notNull(),
    attempts: integer("attempts").notNull().default(0),
    firstFailedAt: timestamp("first_failed_at", { withTimezone: true, mode: "date" }),
    lastError: text("last_error"),
    nextAttemptAt: timestamp("next_attempt_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
    /** A retrier working on the row holds it until then. */
    leaseUntil: timestamp("lease_until", { withTimezone: true, mode: "date" }),
    createdAt: timestamp("created_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
  },
  (t) => [index("parked_events_key_idx").on(t.consumer, t.topic, t.key, t.id)],
);

export type ParkedEventRow = typeof parkedEvents.$inferSelect;

/**
 * Every event a consumer sent to the dead-letter topic, recorded as its parked row is dropped (same
 * transaction): what the saga deadline reads to settle an order whose `order-placed` could not be
 * recorded, and what the on-call gauges count. Kept for operators, never pruned.
 */
export const deadLetters = pgTable(
  "dead_letters",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    consumer: varchar("consumer", { length: 64 }).notNull(),
    /** The Kafka topic it was read from (the run's prefix included). */
    topic: text("topic").notNull(),
    key: text("key").notNull(),
    eventId: varchar("event_id", { length: 128 }),
    error: text("error").notNull(),
    attempts: integer("attempts").notNull(),
    createdAt: timestamp("created_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
  },
  (t) => [index("dead_letters_key_idx").on(t.consumer, t.key)],
);
