import type { Logger } from "pino";
import type { Db } from "../../../db/node-client.ts";
import { processedEvents } from "../../../db/schema/index.ts";
import { type EmittedEvent, txScope, writeOutbox } from "./transaction.ts";
import type { AfterCommit, HandlerContext, Subscription } from "./types.ts";

export type ApplyOutcome = "applied" | "duplicate";

/** One event to apply, parsed, with what its subscription's `prepare` step answered (if any). */
export interface EventToApply {
  subscription: Subscription;
  event: unknown;
  eventId: string;
  prepared?: unknown;
  log: Logger;
  source: HandlerContext["source"];
}

export interface ApplyInput extends EventToApply {
  db: Db;
  /** The consumer's name: the `consumer` column of processed_events. */
  consumer: string;
  /** The Kafka topic an emitted event is written for (the runner's topic prefix applied). */
  topicName: (topic: string) => string;
}

/** What the transaction committed; its after-commit hooks are still to run (see run-event.ts). */
export interface Applied {
  outcome: ApplyOutcome;
  emitted: EmittedEvent[];
  afterCommit: AfterCommit[];
}

/** What applying an event id that was already processed gives: nothing. */
export const duplicate = (): Applied => ({ outcome: "duplicate", emitted: [], afterCommit: [] });

/**
 * Applies events in ONE transaction: records their ids in processed_events (one statement) and runs
 * the handler of each id that is new, in order; the effects and the emitted outbox rows commit (or
 * roll back) with the ids. A replayed id finds its row and changes nothing. Hooks a handler
 * registered with `afterCommit` are returned, not run: they exist only if the transaction committed.
 * A failing handler rolls back the whole transaction (the runner then applies the events one by one).
 */
export const applyEvents = (
  base: Pick<ApplyInput, "db" | "consumer" | "topicName">,
  events: readonly EventToApply[],
): Promise<Applied[]> =>
  base.db.transaction(async (tx) => {
    const fresh = await tx
      .insert(processedEvents)
      .values(events.map((e) => ({ consumer: base.consumer, eventId: e.eventId })))
      .onConflictDoNothing()
      .returning({ eventId: processedEvents.eventId });
    const unclaimed = new Set(fresh.map((row) => row.eventId));
    const applied: Applied[] = [];
    const emitted: EmittedEvent[] = [];
    for (const input of events) {
      if (!unclaimed.delete(input.eventId)) {
        applied.push(duplicate());
        continue;
      }
      const scope = txScope(tx, input.log, base.topicName);
      const ctx: HandlerContext = { ...scope.ctx, source: input.source };
      await input.subscription.handle(input.event, ctx, input.prepared);
      emitted.push(...scope.emitted);
      applied.push({ outcome: "applied", emitted: scope.emitted, afterCommit: scope.afterCommit });
    }
    await writeOutbox(tx, emitted);
    return applied;
  });

/** One event in one transaction (see `applyEvents`). */
export const applyEvent = async (input: ApplyInput): Promise<Applied> => {
  const [applied] = await applyEvents(input, [input]);
  if (!applied) throw new Error("applyEvents answered nothing for one event");
  return applied;
};
