import { and, eq } from "drizzle-orm";
import { processedEvents } from "../../../db/schema/index.ts";
import { type Applied, type ApplyInput, applyEvent, duplicate } from "./apply-event.ts";
import { runAfterCommit } from "./transaction.ts";

export type EventInput = Omit<ApplyInput, "prepared">;

/**
 * One event's way through the consumer, as a sequence that a retry resumes where it failed:
 * 1. an event id already processed is a duplicate (nothing else runs);
 * 2. the subscription's `prepare` step, outside any transaction (external calls go here);
 * 3. the transaction (`applyEvent`);
 * 4. the after-commit hooks it registered. Once the transaction committed, a retry runs only the
 *    hooks not done yet, never the transaction again.
 * An event whose transaction already committed with others (`applyEvents`) starts at step 4.
 */
export const createEventRun = (input: EventInput, applied?: Applied): { attempt(): Promise<Applied> } => {
  let committed = applied;
  const deps = { db: input.db, log: input.log };

  const isProcessed = async (): Promise<boolean> => {
    const found = await input.db
      .select({ eventId: processedEvents.eventId })
      .from(processedEvents)
      .where(and(eq(processedEvents.consumer, input.consumer), eq(processedEvents.eventId, input.eventId)))
      .limit(1);
    return found.length > 0;
  };

  return {
    async attempt() {
      if (!committed) {
        const { prepare } = input.subscription;
        if (prepare && (await isProcessed())) return duplicate();
        const prepared = prepare ? await prepare(input.event, deps) : undefined;
        committed = await applyEvent({ ...input, prepared });
      }
      await runAfterCommit(committed.afterCommit, deps);
      return committed;
    },
  };
};
