import type { NodePgDatabase } from "drizzle-orm/node-postgres";
import type { Logger } from "pino";
import type { z } from "zod";
import type { Db } from "../../../db/node-client.ts";
import type * as schema from "../../../db/schema/index.ts";
import type { EffectDefinition, EffectKind } from "./effects.ts";

/** The Postgres handle a handler works in: the transaction that also records the event id. */
export type Tx = Parameters<Parameters<NodePgDatabase<typeof schema>["transaction"]>[0]>[0];

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
   * Records work on another system (a Redis write) that must follow the commit: a row written in
   * this transaction, applied by the effects relay once it committed, never if it rolls back, and
   * retried until it succeeds (runtime/effects.ts). Some running consumer must register its
   * definition (`effects`), usually the one recording it.
   */
  effect<P>(kind: EffectKind<P>, key: string, payload: P): void;
  /**
   * Hands `item` to work that runs ONCE per transaction over every item handed to it, after the
   * handlers and before the outbox and effects rows are written (see `Batched`).
   */
  defer<T>(batched: Batched<T>, item: T): void;
  log: Logger;
}

/**
 * Work a transaction does once for the items its handlers deferred to it (`ctx.defer`): set-based,
 * so a transaction of many events costs the statements of one (the saga's join records every step
 * reported in the transaction in one statement). It runs with the transaction's context: what it
 * emits and records commits with the handlers' work. If it throws, the transaction rolls back and
 * its events are applied again one by one, so the event at fault is found.
 */
export interface Batched<T> {
  name: string;
  run(items: readonly T[], ctx: TxContext): Promise<void>;
}

/** Where an event was read: its topic (the run's prefix included), partition and offset. */
export interface EventSource {
  topic: string;
  partition: number;
  offset: bigint;
}

export interface HandlerContext extends TxContext {
  /** Kafka coordinates of the message, for logs. */
  source: EventSource;
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
  /** The Kafka topic a topic's events are read from and written to (the run's prefix applied). */
  topicName: (topic: string) => string;
  /** One transaction with the handlers' `emit` and `effect`. */
  transaction<T>(work: (ctx: TxContext) => Promise<T>): Promise<T>;
}

/** A consumer does one thing, in one consumer group, over one or more topics. */
export interface ConsumerDefinition {
  /** Consumer group id and the `consumer` column of processed_events. */
  name: string;
  subscriptions: Subscription[];
  /** Jobs run next to the subscriptions, once per running consumer (not per replica). */
  tasks?: PeriodicTask[];
  /** The effects its handlers and tasks record (`ctx.effect`): the relay must know how to apply them. */
  effects?: EffectDefinition[];
  /**
   * Takes, before the handlers of a transaction run, every row lock they will take, in one statement
   * and one global order (`ORDER BY … FOR UPDATE`). A transaction applies many events at once, and
   * lanes whose events share rows would otherwise lock them in different orders and deadlock.
   */
  lockFirst?(events: readonly LockedEvent[], tx: Tx): Promise<void>;
}

/** An event about to be applied: its subscription's topic (no run prefix) and the parsed event. */
export interface LockedEvent {
  topic: string;
  event: unknown;
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
