import { randomUUID } from "node:crypto";
import { pino } from "pino";
import { inject } from "vitest";
import { z } from "zod";
import { createNodeDb, type Db } from "../../../db/node-client.ts";
import { outbox, processedEvents } from "../../../db/schema/index.ts";
import type { ConsumerDefinition, HandlerContext } from "../runtime/types.ts";

/**
 * Test harness for the order-pipeline consumers (inventory, payment, order-state): delivers one
 * event to a consumer's handler the way the runner's contract describes it, without Kafka: in one
 * real Postgres transaction that records the event id in processed_events (a replay of the same id
 * changes nothing) and whose `emit` writes into the real outbox table.
 */

export interface EmittedEvent {
  topic: string;
  key: string;
  payload: { eventId: string } & Record<string, unknown>;
}

export interface Delivery {
  /** False when the event id had been processed already, so the handler did not run. */
  applied: boolean;
  emitted: EmittedEvent[];
}

const silentLog = pino({ level: "silent" });
const EventIdSchema = z.object({ eventId: z.string().min(1) });

/** A pooled connection to the test stack's Postgres; end `pool` in `afterAll`. */
export const connectTestDb = (max = 10): ReturnType<typeof createNodeDb> =>
  createNodeDb(inject("stack").databaseUrl, { max });

/** Runs `consumer`'s handler for `topic` on `event` in its own transaction. */
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
  return db.transaction(async (tx) => {
    const fresh = await tx
      .insert(processedEvents)
      .values({ consumer: consumer.name, eventId })
      .onConflictDoNothing()
      .returning({ eventId: processedEvents.eventId });
    if (fresh.length === 0) return { applied: false, emitted: [] };
    const emitted: EmittedEvent[] = [];
    const ctx: HandlerContext = {
      tx,
      emit: async (emitTopic, key, payload) => {
        await tx.insert(outbox).values({ topic: emitTopic, key, payload });
        emitted.push({ topic: emitTopic, key, payload });
      },
      log: silentLog,
      source: { topic, partition: 0, offset: 0n },
    };
    await subscription.handle(parsed, ctx);
    return { applied: true, emitted };
  });
};

/** A unique id matching the order and product id patterns (`[A-Za-z0-9_-]{1,64}`). */
export const uniqueId = (prefix: string): string => `${prefix}_${randomUUID().replaceAll("-", "")}`;

export const newEventId = (): string => randomUUID();
