import type { Logger } from "pino";
import { z } from "zod";
import type { Db } from "../../../db/node-client.ts";
import { applyEvent } from "./apply-event.ts";
import { type Backoff, backoffDelay, type RetryPolicy, sleep } from "./backoff.ts";
import { publishDeadLetter } from "./dead-letter.ts";
import { describeError, isDependencyDown, isNonRetryable } from "./failures.ts";
import type { KafkaMessage, KafkaProducer } from "./kafka.ts";
import type { Subscription } from "./types.ts";

/** What became of a message; every outcome but "abandoned" lets its offset be committed. */
export type MessageOutcome = "applied" | "duplicate" | "dead-lettered" | "abandoned";

/** Counts of outcomes since start, for logs and tests. */
export type OutcomeCounts = Record<MessageOutcome, number>;

export const emptyCounts = (): OutcomeCounts => ({
  applied: 0,
  duplicate: 0,
  "dead-lettered": 0,
  abandoned: 0,
});

export interface ProcessEnv {
  consumer: string;
  /** Subscriptions by the Kafka topic they read (prefix applied). */
  subscriptions: ReadonlyMap<string, Subscription>;
  db: Db;
  producer: KafkaProducer;
  log: Logger;
  retry: RetryPolicy;
  dependencyBackoff: Backoff;
  topicName: (topic: string) => string;
}

export interface ProcessSignals {
  /** The partition was revoked or shutdown ran out of time: give up, leave the offset uncommitted. */
  abandon: AbortSignal;
  /** Graceful shutdown began: handler retries still finish, waiting for a dead dependency does not. */
  stopping: AbortSignal;
}

const EventIdSchema = z.object({ eventId: z.string().min(1).max(128) });

type Parsed =
  | { ok: true; subscription: Subscription; event: unknown; eventId: string }
  | { ok: false; error: Error };

/** JSON, then the subscription's schema; an event without a usable `eventId` cannot be deduplicated. */
export const parseMessage = (message: KafkaMessage, subscription: Subscription | undefined): Parsed => {
  if (!subscription) return { ok: false, error: new Error(`no subscription for topic ${message.topic}`) };
  let json: unknown;
  try {
    json = JSON.parse(message.value?.toString("utf8") ?? "");
  } catch (error) {
    return { ok: false, error: new Error("value is not JSON", { cause: error }) };
  }
  const result = subscription.schema.safeParse(json);
  if (!result.success) {
    return { ok: false, error: new Error(`value fails the schema: ${z.prettifyError(result.error)}`) };
  }
  const id = EventIdSchema.safeParse(result.data);
  if (!id.success) return { ok: false, error: new Error("event has no valid eventId") };
  return { ok: true, subscription, event: result.data, eventId: id.data.eventId };
};

/**
 * Handles one message to the end: parse (unparseable → dead letter), then apply in one transaction,
 * retrying handler failures with backoff until the last attempt dead-letters the event, and waiting
 * out a Postgres outage for as long as it lasts without counting it as an attempt.
 */
export const processMessage = async (
  message: KafkaMessage,
  env: ProcessEnv,
  signals: ProcessSignals,
): Promise<MessageOutcome> => {
  const source = { topic: message.topic, partition: message.partition, offset: message.offset };
  const log = env.log.child({
    topic: message.topic,
    partition: message.partition,
    offset: `${message.offset}`,
  });
  const parsed = parseMessage(message, env.subscriptions.get(message.topic));
  const deadLetter = async (error: unknown, attempts: number): Promise<MessageOutcome> => {
    log.error({ err: error, attempts }, "sending the event to the dead-letter topic");
    const letter = { message, error, attempts, consumer: env.consumer };
    const sent = await publishDeadLetter(env.producer, letter, {
      backoff: env.dependencyBackoff,
      log,
      signal: signals.abandon,
    });
    return sent ? "dead-lettered" : "abandoned";
  };
  if (!parsed.ok) return deadLetter(parsed.error, 1);

  const eventLog = log.child({ eventId: parsed.eventId });
  let attempts = 0;
  let outages = 0;
  for (;;) {
    if (signals.abandon.aborted) return "abandoned";
    try {
      const outcome = await applyEvent({
        db: env.db,
        consumer: env.consumer,
        subscription: parsed.subscription,
        event: parsed.event,
        eventId: parsed.eventId,
        log: eventLog,
        source,
        topicName: env.topicName,
      });
      if (outages > 0) eventLog.info({ outages }, "dependency is back; event handled");
      return outcome;
    } catch (error) {
      if (isDependencyDown(error)) {
        outages++;
        const wait = backoffDelay(outages, env.dependencyBackoff);
        eventLog.warn({ err: describeError(error), outages, waitMs: wait }, "dependency down; waiting");
        if (!(await sleep(wait, AbortSignal.any([signals.abandon, signals.stopping])))) return "abandoned";
        continue;
      }
      attempts++;
      if (attempts >= env.retry.maxAttempts || isNonRetryable(error)) return deadLetter(error, attempts);
      const wait = backoffDelay(attempts, env.retry);
      eventLog.warn({ err: error, attempts, waitMs: wait }, "handler failed; retrying");
      if (!(await sleep(wait, signals.abandon))) return "abandoned";
    }
  }
};
