import { sql } from "drizzle-orm";
import { processedEvents } from "../../../db/schema/index.ts";
import { failureKind } from "../metrics/consumer-metrics.ts";
import { type Applied, applyEvents, HandlerFailure } from "./apply-event.ts";
import { backoffDelay, fullJitterDelay, sleep } from "./backoff.ts";
import { describeError, isConflict, isDependencyDown, isNonRetryable, isTransient } from "./failures.ts";
import type { KafkaMessage } from "./kafka.ts";
import { messageKey, type ParkInput, parkedKeys } from "./parked.ts";
import {
  type MessageOutcome,
  type ParsedMessage,
  type ProcessEnv,
  type ProcessSignals,
  parseMessage,
} from "./process-message.ts";

/** A message of the batch: parsed (an event) or not, its key, and its position (its outcome's index). */
type Item =
  | { message: KafkaMessage; key: string; index: number; event: ParsedMessage }
  | { message: KafkaMessage; key: string; index: number; event?: undefined; invalid: Error };

type EventItem = Extract<Item, { event: ParsedMessage }>;

interface Failed {
  item: Item;
  error: unknown;
}

/**
 * Handles the messages of ONE partition (in offset order) to an outcome each, in as few round trips
 * as it can, without ever holding the partition for one event (nor waiting for Kafka: dead letters
 * are the retrier's to send):
 * - an event whose key has an event parked (see parked.ts) is parked behind it;
 * - the others go in segments of distinct keys (one key's events one after another, each seeing what
 *   the previous one committed): their `prepare` steps side by side, then ONE transaction with the
 *   dedupe rows, every handler's effects, the outbox and effects rows, and the parked rows;
 * - an event whose `prepare` or handler fails is parked (the retrier tries it again with backoff,
 *   parked-retrier.ts) and the transaction runs again without it, so a failure costs only its own
 *   event; a message that can never succeed (not JSON, failing its schema, `transient: false`, no
 *   tries left) is parked `dead`, for the retrier to send to the dead letters;
 * - a dependency outage (Postgres down or hung) is waited out for as long as it lasts, and the events
 *   not committed yet are tried again; a revoked partition or a stop abandons them uncommitted.
 * Outcomes are answered in message order.
 */
export const processBatch = async (
  messages: readonly KafkaMessage[],
  env: ProcessEnv,
  signals: ProcessSignals,
): Promise<MessageOutcome[]> => {
  const outcomes: Array<MessageOutcome | undefined> = messages.map(() => undefined);
  const items = messages.map((message, index): Item => {
    const parsed = parseMessage(message, env.subscriptions.get(message.topic));
    if (parsed.ok) return { message, key: messageKey(message, parsed.eventId), index, event: parsed };
    env.metrics?.eventFailed(env.consumer, message.topic, "invalid");
    return { message, key: messageKey(message), index, invalid: parsed.error };
  });
  const pending = () => items.filter((item) => outcomes[item.index] === undefined);
  for (let outages = 1; pending().length > 0; outages++) {
    if (signals.abandon.aborted) break;
    try {
      await applyItems(pending(), env, signals, outcomes);
    } catch (error) {
      const kind = failureKind(error);
      const wait = backoffDelay(outages, env.dependencyBackoff);
      const log = env.log.child({ topic: messages[0]?.topic, partition: messages[0]?.partition });
      if (kind === "dependency") {
        log.warn({ err: describeError(error), outages, waitMs: wait }, "dependency down; waiting");
      } else log.error({ err: error, outages, waitMs: wait }, "events could not be applied; trying again");
      for (const item of pending()) {
        env.metrics?.eventFailed(env.consumer, item.message.topic, "dependency");
        env.metrics?.eventRetried(env.consumer, item.message.topic, "dependency");
      }
      if (!(await sleep(wait, AbortSignal.any([signals.abandon, signals.stopping])))) break;
    }
  }
  return outcomes.map((outcome) => outcome ?? "abandoned");
};

/**
 * Consecutive messages that can share one transaction: no two with the same key (one key's events
 * stay strictly one after another, each seeing what the previous one committed, `prepare` included).
 */
const segmentsOf = (items: readonly Item[]): Item[][] => {
  const segments: Item[][] = [];
  let current: Item[] = [];
  let keys = new Set<string>();
  for (const item of items) {
    if (keys.has(item.key)) {
      segments.push(current);
      current = [];
      keys = new Set();
    }
    keys.add(item.key);
    current.push(item);
  }
  if (current.length > 0) segments.push(current);
  return segments;
};

/** The messages not settled yet, segment by segment; throws (to wait and try again) on an outage. */
const applyItems = async (
  items: readonly Item[],
  env: ProcessEnv,
  signals: ProcessSignals,
  outcomes: Array<MessageOutcome | undefined>,
): Promise<void> => {
  const blocked = await parkedKeys(
    env.db,
    env.consumer,
    items[0]?.message.topic ?? "",
    items.map((item) => item.key),
  );
  for (const segment of segmentsOf(items)) {
    if (signals.abandon.aborted) return;
    await applySegment(segment, env, blocked, outcomes);
  }
};

/** The ids among `eventIds` this consumer already processed (one query). */
const processedIds = async (env: ProcessEnv, eventIds: string[]): Promise<Set<string>> => {
  if (eventIds.length === 0) return new Set();
  const { rows } = await env.db.execute<{ event_id: string }>(sql`
    select event_id from ${processedEvents}
    where consumer = ${env.consumer} and event_id = any(${sql.param(eventIds)}::text[])`);
  return new Set(rows.map((row) => row.event_id));
};

/**
 * An event whose transaction deadlocked with another lane's runs again on its own this many times,
 * after a short random wait (so the two do not collide again), before it is parked like a failure.
 */
const MAX_CONFLICT_RETRIES = 8;
const CONFLICT_BACKOFF = { initialMs: 5, maxMs: 200 };

/** One event in a transaction of its own, run again while it loses deadlocks (a dependency outage throws). */
const applyAlone = async (
  env: ProcessEnv,
  event: Parameters<typeof applyEvents>[1][number],
): Promise<{ ok: true; applied: Applied } | { ok: false; error: unknown }> => {
  for (let conflicts = 1; ; conflicts++) {
    try {
      const [applied] = await applyEvents(env, [event]);
      return applied ? { ok: true, applied } : { ok: false, error: new Error("no outcome") };
    } catch (error) {
      const cause = error instanceof HandlerFailure ? error.cause : error;
      if (isDependencyDown(cause)) throw cause;
      if (!isConflict(cause) || conflicts >= MAX_CONFLICT_RETRIES) return { ok: false, error: cause };
      await sleep(fullJitterDelay(conflicts, CONFLICT_BACKOFF));
    }
  }
};

/** No retry is left for this failure: it goes to the dead letters instead of being tried again. */
const exhausted = (error: unknown, env: ProcessEnv): boolean =>
  isNonRetryable(error) ||
  (isTransient(error) ? env.transientRetry.maxElapsedMs <= 0 : env.retry.maxAttempts <= 1);

const applySegment = async (
  segment: readonly Item[],
  env: ProcessEnv,
  blocked: Set<string>,
  outcomes: Array<MessageOutcome | undefined>,
): Promise<void> => {
  const behind = segment.filter((item) => blocked.has(item.key));
  const failed: Failed[] = segment.flatMap((item) =>
    !item.event && !blocked.has(item.key) ? [{ item, error: item.invalid }] : [],
  );
  let todo = segment.filter((item): item is EventItem => item.event !== undefined && !blocked.has(item.key));

  // Events applied already need no `prepare` (it may call out): one query for their ids.
  const done = await processedIds(
    env,
    todo.filter((item) => item.event.subscription.prepare).map((item) => item.event.eventId),
  );
  for (const item of todo.filter((i) => done.has(i.event.eventId))) outcomes[item.index] = "duplicate";
  todo = todo.filter((item) => !done.has(item.event.eventId));

  const prepared = new Map<Item, unknown>();
  const answers = await Promise.all(
    todo.map(async (item) => {
      const { prepare } = item.event.subscription;
      if (!prepare) return undefined;
      try {
        prepared.set(item, await prepare(item.event.event, { db: env.db, log: itemLog(env, item) }));
        return undefined;
      } catch (error) {
        return { item, error };
      }
    }),
  );
  for (const answer of answers) {
    if (!answer) continue;
    // Postgres down: the whole segment waits (the others' prepare steps are idempotent calls).
    if (isDependencyDown(answer.error)) throw answer.error;
    failed.push(answer);
  }
  todo = todo.filter((item) => !failed.some((f) => f.item === item));

  const toApply = (item: EventItem) => ({
    subscription: item.event.subscription,
    event: item.event.event,
    eventId: item.event.eventId,
    prepared: prepared.get(item),
    log: itemLog(env, item),
    source: { topic: item.message.topic, partition: item.message.partition, offset: item.message.offset },
  });
  // Events whose handler lost a deadlock to another lane's transaction: nothing is wrong with them,
  // so none is parked; each runs on its own right after the others commit (a transaction of one
  // event takes few locks), before any later event of its key.
  const alone: EventItem[] = [];
  let applied: Applied[];
  for (;;) {
    try {
      applied = await applyEvents(env, todo.map(toApply), { park: parkRows(env, failed, behind) });
      break;
    } catch (error) {
      if (!(error instanceof HandlerFailure) || isDependencyDown(error.cause)) throw error;
      if (error.index === undefined) {
        // The deferred work of the whole transaction failed: each event runs on its own, which
        // finds the one at fault (a lost deadlock simply succeeds alone).
        if (isConflict(error.cause))
          for (const item of todo) env.metrics?.eventRetried(env.consumer, item.message.topic, "conflict");
        alone.push(...todo.splice(0));
        continue;
      }
      const [item] = todo.splice(error.index, 1);
      if (!item) throw error;
      if (isConflict(error.cause)) {
        env.metrics?.eventRetried(env.consumer, item.message.topic, "conflict");
        alone.push(item);
      } else failed.push({ item, error: error.cause });
    }
  }
  for (const item of alone) {
    const result = await applyAlone(env, toApply(item));
    if (result.ok) {
      todo.push(item);
      applied.push(result.applied);
      continue;
    }
    failed.push({ item, error: result.error });
    await applyEvents(env, [], { park: parkRows(env, [{ item, error: result.error }], []) });
  }

  let effects = 0;
  let emitted = 0;
  for (const [i, item] of todo.entries()) {
    const result = applied[i];
    outcomes[item.index] = result?.outcome ?? "applied";
    effects += result?.effects.length ?? 0;
    emitted += result?.emitted.length ?? 0;
  }
  for (const item of behind) outcomes[item.index] = "parked";
  for (const { item, error } of failed) {
    outcomes[item.index] = "parked";
    blocked.add(item.key);
    if (!item.event) continue;
    const kind = failureKind(error);
    env.metrics?.eventFailed(env.consumer, item.message.topic, kind);
    if (!exhausted(error, env)) env.metrics?.eventRetried(env.consumer, item.message.topic, kind);
    itemLog(env, item).warn(
      { err: describeError(error), kind },
      "event failed; parked, its partition goes on",
    );
  }
  env.committed({ emitted, effects, parked: behind.length + failed.length });
};

const itemLog = (env: ProcessEnv, item: Item) =>
  env.log.child({
    topic: item.message.topic,
    partition: item.message.partition,
    offset: `${item.message.offset}`,
    eventId: item.event?.eventId,
  });

/**
 * The parked rows of a segment: its failures (tried again with backoff, or dead-lettered next when
 * nothing can make them succeed) and the events waiting behind a parked key.
 */
const parkRows = (env: ProcessEnv, failed: readonly Failed[], behind: readonly Item[]): ParkInput[] => [
  ...failed.map(({ item, error }): ParkInput => {
    const dead = !item.event || exhausted(error, env);
    return {
      consumer: env.consumer,
      message: item.message,
      key: item.key,
      eventId: item.event?.eventId,
      reason: dead ? "dead" : "failed",
      error: describeError(error),
      retryInMs: dead
        ? 0
        : isTransient(error)
          ? fullJitterDelay(1, env.transientRetry)
          : backoffDelay(1, env.retry),
    };
  }),
  ...behind.map(
    (item): ParkInput => ({
      consumer: env.consumer,
      message: item.message,
      key: item.key,
      eventId: item.event?.eventId,
      reason: "behind",
    }),
  ),
];
