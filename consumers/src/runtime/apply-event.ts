import type { Logger } from "pino";
import type { Db } from "../../../db/node-client.ts";
import { processedEvents } from "../../../db/schema/index.ts";
import { type EmittedEvent, txScope } from "./transaction.ts";
import type { AfterCommit, HandlerContext, Subscription } from "./types.ts";

export type ApplyOutcome = "applied" | "duplicate";

export interface ApplyInput {
  db: Db;
  /** The consumer's name: the `consumer` column of processed_events. */
  consumer: string;
  subscription: Subscription;
  event: unknown;
  eventId: string;
  /** What the subscription's `prepare` step answered (before this transaction). */
  prepared?: unknown;
  log: Logger;
  source: HandlerContext["source"];
  /** The Kafka topic an emitted event is written for (the runner's topic prefix applied). */
  topicName: (topic: string) => string;
}

/** What the transaction committed; its after-commit hooks are still to run (see run-event.ts). */
export interface Applied {
  outcome: ApplyOutcome;
  emitted: EmittedEvent[];
  afterCommit: AfterCommit[];
}

/**
 * Applies one event in ONE transaction: records its id in processed_events and, only when the id is
 * new, runs the handler, whose effects and emitted outbox rows commit (or roll back) with the id.
 * A replay of the same id finds the row and changes nothing. Hooks the handler registered with
 * `afterCommit` are returned, not run: they exist only if the transaction committed.
 */
export const applyEvent = (input: ApplyInput): Promise<Applied> =>
  input.db.transaction(async (tx) => {
    const fresh = await tx
      .insert(processedEvents)
      .values({ consumer: input.consumer, eventId: input.eventId })
      .onConflictDoNothing()
      .returning({ eventId: processedEvents.eventId });
    if (fresh.length === 0) return { outcome: "duplicate", emitted: [], afterCommit: [] };
    const scope = txScope(tx, input.log, input.topicName);
    const ctx: HandlerContext = { ...scope.ctx, source: input.source };
    await input.subscription.handle(input.event, ctx, input.prepared);
    return { outcome: "applied", emitted: scope.emitted, afterCommit: scope.afterCommit };
  });
