import { sql } from "drizzle-orm";
import type { Logger } from "pino";
import type { Db } from "../../../db/node-client.ts";
import { outbox, processedEvents } from "../../../db/schema/index.ts";
import type { HandlerContext, Subscription } from "./types.ts";

export type ApplyOutcome = "applied" | "duplicate";

/** Namespace (first key) of the per-(topic, key) advisory locks taken by `emit`. */
const EMIT_LOCK_SPACE = 7261;

export interface ApplyInput {
  db: Db;
  /** The consumer's name: the `consumer` column of processed_events. */
  consumer: string;
  subscription: Subscription;
  event: unknown;
  eventId: string;
  log: Logger;
  source: HandlerContext["source"];
  /** The Kafka topic an emitted event is written for (the runner's topic prefix applied). */
  topicName: (topic: string) => string;
}

/**
 * Applies one event in ONE transaction: records its id in processed_events and, only when the id is
 * new, runs the handler, whose effects and emitted outbox rows commit (or roll back) with the id.
 * A replay of the same id finds the row and changes nothing.
 */
export const applyEvent = (input: ApplyInput): Promise<ApplyOutcome> =>
  input.db.transaction(async (tx) => {
    const fresh = await tx
      .insert(processedEvents)
      .values({ consumer: input.consumer, eventId: input.eventId })
      .onConflictDoNothing()
      .returning({ eventId: processedEvents.eventId });
    if (fresh.length === 0) return "duplicate";
    const ctx: HandlerContext = {
      tx,
      emit: async (topic, key, payload) => {
        const name = input.topicName(topic);
        // Transactions emitting for the same topic and key take their outbox ids in commit order,
        // so the relay (which publishes in id order) keeps every key's events in order on Kafka.
        await tx.execute(
          sql`select pg_advisory_xact_lock(${EMIT_LOCK_SPACE}::int, hashtext(${`${name}:${key}`}))`,
        );
        await tx.insert(outbox).values({ topic: name, key, payload });
      },
      log: input.log,
      source: input.source,
    };
    await input.subscription.handle(input.event, ctx);
    return "applied";
  });
