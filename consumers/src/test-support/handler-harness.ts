import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { pino } from "pino";
import { afterAll, inject } from "vitest";
import { z } from "zod";
import { createNodeDb, type Db } from "../../../db/node-client.ts";
import { createEffectsRelay } from "../runtime/effects.ts";
import { taskContext } from "../runtime/periodic-tasks.ts";
import { applyOne } from "../runtime/run-event.ts";
import { type EmittedEvent, scopedTransaction, type TxTarget } from "../runtime/transaction.ts";
import type { ConsumerDefinition, TxContext } from "../runtime/types.ts";
import { reportStep } from "../saga/join.ts";

/**
 * Test harness for the order-pipeline consumers (inventory, payment, order-state): delivers one
 * event to a consumer the way the runner does (run-event.ts: a duplicate check, the `prepare` step,
 * one real Postgres transaction that records the event id in processed_events and whose `emit`
 * writes into the real outbox table), then applies the effects it recorded with the real effects
 * relay, without Kafka.
 */

export type { EmittedEvent };

export interface Delivery {
  /** False when the event id had been processed already, so the handler did not run. */
  applied: boolean;
  emitted: EmittedEvent[];
}

const silentLog = pino({ level: "silent" });
const EventIdSchema = z.object({ eventId: z.string().min(1) });

/**
 * Emitted topics as named; effects under a scope of this test file's own, so no other file's relay
 * (nor a consumers process of the test run) applies them.
 */
const HARNESS: TxTarget = { topicName: (name) => name, scope: `harness-${randomUUID().slice(0, 8)}.` };

/** Applies the effects the consumer's transactions recorded (as the relay would after their commit). */
export const applyEffects = async (db: Db, consumer: ConsumerDefinition): Promise<void> => {
  const relay = createEffectsRelay({ db, log: silentLog, scope: HARNESS.scope, intervalMs: 60_000 });
  relay.register(consumer.effects ?? []);
  try {
    if (!(await relay.flush())) throw new Error(`effects of ${consumer.name} could not be applied`);
  } finally {
    await relay.stop();
  }
};

/** A pooled connection to the test stack's Postgres; end `pool` in `afterAll`. */
export const connectTestDb = (max = 10): ReturnType<typeof createNodeDb> =>
  createNodeDb(inject("stack").databaseUrl, { max });

/**
 * The test stack's Postgres pool and Redis for a test file (call at its top level): both are closed
 * after the file's tests.
 */
export const connectTestServices = (): ReturnType<typeof createNodeDb> & { redis: Redis } => {
  const { db, pool } = connectTestDb();
  const redis = new Redis(inject("stack").redisUrl);
  afterAll(async () => {
    await pool.end();
    await redis.quit();
  });
  return { db, pool, redis };
};

/** Runs `consumer`'s subscription to `topic` on `event`, once (a failure rejects). */
export const deliver = async (
  db: Db,
  consumer: ConsumerDefinition,
  topic: string,
  event: unknown,
): Promise<Delivery> => {
  const subscription = consumer.subscriptions.find((s) => s.topic === topic);
  if (!subscription) throw new Error(`consumer ${consumer.name} does not subscribe to ${topic}`);
  const parsed: unknown = subscription.schema.parse(event);
  const { eventId } = EventIdSchema.parse(parsed);
  const { outcome, emitted, effects } = await applyOne(
    { db, consumer: consumer.name, log: silentLog, ...HARNESS },
    { subscription, event: parsed, eventId, log: silentLog, source: { topic, partition: 0, offset: 0n } },
  );
  if (effects.length > 0) await applyEffects(db, consumer);
  return { applied: outcome === "applied", emitted };
};

/**
 * Runs `work` in one transaction as a handler's code runs (what it emits goes into the outbox, the
 * effects it records are written with it), then applies those effects with `effectsOf`'s definitions.
 */
export const inTransaction = async (
  db: Db,
  work: (ctx: TxContext) => Promise<void>,
  effectsOf?: ConsumerDefinition,
): Promise<Delivery> => {
  const { emitted, effects } = await scopedTransaction(db, silentLog, HARNESS, (scope) => work(scope.ctx));
  if (effects.length > 0 && effectsOf) await applyEffects(db, effectsOf);
  return { applied: true, emitted };
};

/**
 * The orders consumer's report that the order is in Postgres (the saga's `recorded` step), for tests
 * that write the pending order themselves and report it when they choose (a lagging orders group).
 */
export const reportRecorded = (db: Db, orderId: string, effectsOf?: ConsumerDefinition): Promise<Delivery> =>
  inTransaction(
    db,
    async (ctx) => reportStep(ctx, { orderId, step: "recorded", outcome: "recorded" }),
    effectsOf,
  );

/**
 * Delivers `event` to every consumer subscribed to `topic`, then every event they emit to the
 * consumers subscribed to its topic, until nothing is left: a saga run without Kafka.
 */
export const deliverAll = async (
  db: Db,
  consumers: readonly ConsumerDefinition[],
  topic: string,
  event: unknown,
): Promise<void> => {
  const queue: Array<{ topic: string; payload: unknown }> = [{ topic, payload: event }];
  for (let next = queue.shift(); next; next = queue.shift()) {
    for (const consumer of consumers) {
      if (!consumer.subscriptions.some((s) => s.topic === next?.topic)) continue;
      const { emitted } = await deliver(db, consumer, next.topic, next.payload);
      queue.push(...emitted);
    }
  }
};

/** Hands events something emitted to the consumers, and onwards (deliverAll), in order. */
export const forward = async (
  db: Db,
  consumers: readonly ConsumerDefinition[],
  emitted: readonly EmittedEvent[],
): Promise<void> => {
  for (const event of emitted) await deliverAll(db, consumers, event.topic, event.payload);
};

/**
 * Runs one pass of the consumer's periodic task `name` (what it emits is in the outbox table), then
 * applies the effects it recorded.
 */
export const runTaskOnce = async (db: Db, consumer: ConsumerDefinition, name: string): Promise<void> => {
  const task = consumer.tasks?.find((t) => t.name === name);
  if (!task) throw new Error(`consumer ${consumer.name} has no task ${name}`);
  let effects = 0;
  const committed = (written: { effects: number }) => {
    effects += written.effects;
  };
  await task.run(taskContext({ db, log: silentLog, ...HARNESS, committed }, silentLog));
  if (effects > 0) await applyEffects(db, consumer);
};

/** A unique id matching the order and product id patterns (`[A-Za-z0-9_-]{1,64}`). */
export const uniqueId = (prefix: string): string => `${prefix}_${randomUUID().replaceAll("-", "")}`;

export const newEventId = (): string => randomUUID();
