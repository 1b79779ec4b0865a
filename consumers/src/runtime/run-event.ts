import { and, eq } from "drizzle-orm";
import { processedEvents } from "../../../db/schema/index.ts";
import {
  type Applied,
  type ApplyTarget,
  applyEvents,
  duplicate,
  type EventToApply,
  HandlerFailure,
  type ParkedChanges,
} from "./apply-event.ts";
import { dropParked } from "./parked.ts";

/**
 * One try at one event, on its own (the parked-event retrier, test harnesses):
 * 1. an event id already processed is a duplicate (nothing else runs);
 * 2. the subscription's `prepare` step, outside any transaction (external calls go here);
 * 3. the transaction (`applyEvents`), with the parked-row changes that go with it.
 * A handler's error is rethrown as it was thrown.
 */
export const applyOne = async (
  target: ApplyTarget,
  input: Omit<EventToApply, "prepared">,
  parked: ParkedChanges = {},
): Promise<Applied> => {
  const { prepare } = input.subscription;
  if (prepare && (await isProcessed(target, input.eventId))) {
    await dropParked(target.db, parked.unpark ?? []);
    return duplicate();
  }
  const prepared = prepare ? await prepare(input.event, { db: target.db, log: input.log }) : undefined;
  try {
    const [applied] = await applyEvents(target, [{ ...input, prepared }], parked);
    if (!applied) throw new Error("applyEvents answered nothing for one event");
    return applied;
  } catch (error) {
    throw error instanceof HandlerFailure ? error.cause : error;
  }
};

const isProcessed = async (target: ApplyTarget, eventId: string): Promise<boolean> => {
  const found = await target.db
    .select({ eventId: processedEvents.eventId })
    .from(processedEvents)
    .where(and(eq(processedEvents.consumer, target.consumer), eq(processedEvents.eventId, eventId)))
    .limit(1);
  return found.length > 0;
};
