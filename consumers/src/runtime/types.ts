import type { NodePgDatabase } from "drizzle-orm/node-postgres";
import type { Logger } from "pino";
import type { z } from "zod";
import type { Db } from "../../../db/node-client.ts";
import type * as schema from "../../../db/schema/index.ts";

/** The Postgres handle a handler works in: the transaction that also records the event id. */
export type Tx = Parameters<Parameters<NodePgDatabase<typeof schema>["transaction"]>[0]>[0];

/** Work that must wait for the commit (a Redis write, a call to another service); it gets a fresh db. */
export type AfterCommit = (deps: { db: Db; log: Logger }) => Promise<void>;

/** What code running inside one of the runner's transactions may do. */
export interface TxContext {
  /** The transaction: the effect and the emitted events commit together. */
  tx: Tx;
  /**
   * Emits an event through the transactional outbox (published to Kafka after the commit).
   * The payload must carry its own `eventId`; it is validated with the topic's schema by the caller.
   */
  emit(topic: string, key: string, payload: { eventId: string } & Record<string, unknown>): Promise<void>;
  /**
   * Runs `fn` once this transaction committed, never when it rolls back. Use it for calls to other
   * systems, which must not run while the transaction holds row locks. A failure there is retried
   * (only the hooks not done yet run again; the transaction is not repeated), so `fn` must be
   * idempotent.
   */
  afterCommit(fn: AfterCommit): void;
  log: Logger;
}

export interface HandlerContext extends TxContext {
  /** Kafka coordinates of the message, for logs. */
  source: { topic: string; partition: number; offset: bigint };
}

/** What a `prepare` step gets: the database outside any transaction, for reads without locks. */
export interface PrepareContext {
  db: Db;
  log: Logger;
}

/** One subscription of a consumer: a topic, the schema its values are parsed with, and what to do. */
export interface Subscription<S extends z.ZodType = z.ZodType> {
  topic: string;
  schema: S;
  /**
   * Optional step before the event's transaction, holding no lock: the place for calls to an
   * idempotent external service (the payment processor). It runs again on every retry (never for an
   * event id already processed); its result is handed to `handle`.
   */
  prepare?(event: z.infer<S>, ctx: PrepareContext): Promise<unknown>;
  handle(event: z.infer<S>, ctx: HandlerContext, prepared: unknown): Promise<void>;
}

/** A job the runner repeats while the consumer runs (the saga deadline sweep). */
export interface PeriodicTask {
  name: string;
  intervalMs: number;
  run(ctx: TaskContext): Promise<void>;
}

export interface TaskContext {
  db: Db;
  log: Logger;
  /** One transaction with the handlers' `emit` and `afterCommit` (hooks run before it resolves). */
  transaction<T>(work: (ctx: TxContext) => Promise<T>): Promise<T>;
}

/** A consumer does one thing, in one consumer group, over one or more topics. */
export interface ConsumerDefinition {
  /** Consumer group id and the `consumer` column of processed_events. */
  name: string;
  subscriptions: Subscription[];
  /** Jobs run next to the subscriptions, once per running consumer (not per replica). */
  tasks?: PeriodicTask[];
}

/** Builds a subscription with the handler's event type inferred from the schema. */
export const subscribe = <S extends z.ZodType>(
  topic: string,
  schema: S,
  handle: (event: z.infer<S>, ctx: HandlerContext) => Promise<void>,
): Subscription => ({ topic, schema, handle: handle as Subscription["handle"] });

/**
 * A subscription whose `prepare` runs before the transaction (outside any lock) and hands its
 * result to `handle`, typed end to end.
 */
export const subscribePrepared = <S extends z.ZodType, P>(
  topic: string,
  schema: S,
  steps: {
    prepare: (event: z.infer<S>, ctx: PrepareContext) => Promise<P>;
    handle: (event: z.infer<S>, ctx: HandlerContext, prepared: P) => Promise<void>;
  },
): Subscription => ({
  topic,
  schema,
  prepare: steps.prepare as NonNullable<Subscription["prepare"]>,
  handle: steps.handle as Subscription["handle"],
});
