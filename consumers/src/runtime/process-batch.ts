import { and, eq, inArray } from "drizzle-orm";
import type { Db } from "../../../db/node-client.ts";
import { processedEvents } from "../../../db/schema/index.ts";
import { type Applied, applyEvents, duplicate, type EventToApply } from "./apply-event.ts";
import { describeError } from "./failures.ts";
import type { KafkaMessage } from "./kafka.ts";
import {
  type MessageOutcome,
  type ParsedMessage,
  type ProcessEnv,
  type ProcessSignals,
  parseMessage,
  processMessage,
  runParsed,
} from "./process-message.ts";

interface Item {
  message: KafkaMessage;
  parsed: ParsedMessage;
}

/**
 * Consecutive messages of a batch that can share one transaction: each parsed, and no two with the
 * same key (one key's events stay strictly one after another, each seeing what the previous one
 * committed, `prepare` steps included). A message that does not parse stands alone.
 */
const segmentsOf = (messages: readonly KafkaMessage[], env: ProcessEnv): Array<Item[] | KafkaMessage> => {
  const segments: Array<Item[] | KafkaMessage> = [];
  let current: Item[] = [];
  let keys = new Set<string>();
  const close = () => {
    if (current.length > 0) segments.push(current);
    current = [];
    keys = new Set();
  };
  for (const message of messages) {
    const parsed = parseMessage(message, env.subscriptions.get(message.topic));
    if (!parsed.ok) {
      close();
      segments.push(message);
      continue;
    }
    const key = message.key?.toString("latin1") ?? parsed.eventId;
    if (keys.has(key)) close();
    keys.add(key);
    current.push({ message, parsed });
  }
  close();
  return segments;
};

/** The ids among `eventIds` this consumer already processed (one query). */
const processedIds = async (db: Db, consumer: string, eventIds: string[]): Promise<Set<string>> => {
  if (eventIds.length === 0) return new Set();
  const rows = await db
    .select({ eventId: processedEvents.eventId })
    .from(processedEvents)
    .where(and(eq(processedEvents.consumer, consumer), inArray(processedEvents.eventId, eventIds)));
  return new Set(rows.map((row) => row.eventId));
};

/**
 * The fast way through a segment: one query for the ids already processed (only when a `prepare`
 * step would call out for them), the `prepare` steps side by side (each event has its own key),
 * then one transaction for all. Answers undefined if any step failed: nothing of the segment
 * committed, and the caller takes its events one by one with the full retry rules.
 */
const applySegment = async (items: Item[], env: ProcessEnv): Promise<Applied[] | undefined> => {
  try {
    const withPrepare = items.filter((item) => item.parsed.subscription.prepare);
    const done = await processedIds(
      env.db,
      env.consumer,
      withPrepare.map((item) => item.parsed.eventId),
    );
    const todo = items.filter((item) => !done.has(item.parsed.eventId));
    const events: EventToApply[] = await Promise.all(
      todo.map(async ({ message, parsed }) => {
        const log = env.log.child({
          topic: message.topic,
          partition: message.partition,
          eventId: parsed.eventId,
        });
        const { prepare } = parsed.subscription;
        return {
          subscription: parsed.subscription,
          event: parsed.event,
          eventId: parsed.eventId,
          prepared: prepare ? await prepare(parsed.event, { db: env.db, log }) : undefined,
          log,
          source: { topic: message.topic, partition: message.partition, offset: message.offset },
        };
      }),
    );
    const applied = await applyEvents(env, events);
    const byId = new Map(todo.map((item, i) => [item.parsed.eventId, applied[i]]));
    return items.map((item) => byId.get(item.parsed.eventId) ?? duplicate());
  } catch (error) {
    env.log.debug(
      { err: describeError(error), events: items.length },
      "a batch could not be applied together; applying its events one by one",
    );
    return undefined;
  }
};

/**
 * Handles messages of ONE partition, in offset order, with the same outcome per message as
 * `processMessage` one by one, in fewer round trips: consecutive events of distinct keys share one
 * transaction (`applyEvents`). When a batch fails anywhere, nothing of it committed and its events
 * go through `processMessage`'s retry rules one at a time; after a commit, each event's after-commit
 * hooks run (and are retried) in order. Outcomes are answered in message order; once `abandon`
 * fires, the events not committed yet are "abandoned".
 */
export const processBatch = async (
  messages: readonly KafkaMessage[],
  env: ProcessEnv,
  signals: ProcessSignals,
): Promise<MessageOutcome[]> => {
  const outcomes: MessageOutcome[] = [];
  for (const segment of segmentsOf(messages, env)) {
    if (!Array.isArray(segment)) {
      outcomes.push(signals.abandon.aborted ? "abandoned" : await processMessage(segment, env, signals));
      continue;
    }
    const applied =
      segment.length > 1 && !signals.abandon.aborted ? await applySegment(segment, env) : undefined;
    for (const [i, { message, parsed }] of segment.entries()) {
      const committed = applied?.[i];
      outcomes.push(
        signals.abandon.aborted && !committed
          ? "abandoned"
          : await runParsed(message, parsed, env, signals, committed),
      );
    }
  }
  return outcomes;
};
