import type { Logger } from "pino";
import { z } from "zod";
import type { Db } from "../../../db/node-client.ts";
import { EventIdSchema } from "../../../domain/events.ts";
import type { ConsumerMetrics } from "../metrics/consumer-metrics.ts";
import type { ApplyTarget } from "./apply-event.ts";
import type { Backoff, RetryPolicy, TransientRetry } from "./backoff.ts";
import { countDeadLetter, type DeadLetterCounts, publishDeadLetter } from "./dead-letter.ts";
import { describeError } from "./failures.ts";
import type { KafkaProducer, ReadMessage } from "./kafka.ts";
import type { Subscription } from "./types.ts";

/**
 * What became of a message: applied, a duplicate, dead-lettered, parked (it failed, or waits behind
 * an earlier parked event of its key: the retrier applies it later), or abandoned (the partition was
 * revoked or the consumer stopped first). Every outcome but "abandoned" lets its offset be committed.
 */
export type MessageOutcome = "applied" | "duplicate" | "dead-lettered" | "parked" | "abandoned";

/** Counts of outcomes since start, for logs and tests. */
export type OutcomeCounts = Record<MessageOutcome, number>;

export const emptyCounts = (): OutcomeCounts => ({
  applied: 0,
  duplicate: 0,
  "dead-lettered": 0,
  parked: 0,
  abandoned: 0,
});

/** What a consumer's lanes and its retrier of parked events share. */
export interface ProcessEnv extends ApplyTarget {
  /** Subscriptions by the Kafka topic they read (prefix applied). */
  subscriptions: ReadonlyMap<string, Subscription>;
  db: Db;
  producer: KafkaProducer;
  log: Logger;
  /** Handler failures: tries in all before the dead letter, and the backoff between them. */
  retry: RetryPolicy;
  /** Failures marked `transient: true` (a remote service timing out): retried for minutes. */
  transientRetry: TransientRetry;
  dependencyBackoff: Backoff;
  /** Dead letters sent per source topic since start (shared by the consumer's replicas), for logs. */
  deadLetters: DeadLetterCounts;
  /** Counters of outcomes, failures, retries and dead letters (Prometheus), when the process exports them. */
  metrics?: ConsumerMetrics;
  /** Message outcomes since start, across the lanes and the retrier. */
  counts: OutcomeCounts;
  /** After each commit: its outbox rows, effects and parked events are worked on soon. */
  committed(written: { emitted: number; effects: number; parked: number }): void;
}

export interface ProcessSignals {
  /** The partition was revoked or shutdown ran out of time: give up, leave the offset uncommitted. */
  abandon: AbortSignal;
  /** Graceful shutdown began: waiting for a dead dependency stops. */
  stopping: AbortSignal;
}

const EventIdOf = z.object({ eventId: EventIdSchema });

type Parsed =
  | { ok: true; subscription: Subscription; event: unknown; eventId: string }
  | { ok: false; error: Error };

/** JSON, then the subscription's schema; an event without a usable `eventId` cannot be deduplicated. */
export const parseMessage = (message: ReadMessage, subscription: Subscription | undefined): Parsed => {
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
  const id = EventIdOf.safeParse(result.data);
  if (!id.success) return { ok: false, error: new Error("event has no valid eventId") };
  return { ok: true, subscription, event: result.data, eventId: id.data.eventId };
};

/** A message whose value parsed: its subscription, the event and its id. */
export type ParsedMessage = Extract<Parsed, { ok: true }>;

export const messageLog = (message: ReadMessage, env: Pick<ProcessEnv, "log">): Logger =>
  env.log.child({ topic: message.topic, partition: message.partition, offset: `${message.offset}` });

/**
 * Sends the message to `<topic>.dlq` with what failed, waiting out a Kafka outage. "refused": Kafka
 * refused the letter (it stays parked); "abandoned": `signal` aborted first.
 */
export const deadLetter = async (
  message: ReadMessage,
  env: ProcessEnv,
  signal: AbortSignal,
  error: unknown,
  attempts: number,
): Promise<"dead-lettered" | "refused" | "abandoned"> => {
  const log = messageLog(message, env);
  log.error({ err: describeError(error), attempts }, "sending the event to the dead-letter topic");
  const letter = { message, error, attempts, consumer: env.consumer };
  const sent = await publishDeadLetter(env.producer, letter, { backoff: env.dependencyBackoff, log, signal });
  if (sent !== "sent") return sent;
  const count = countDeadLetter(env.deadLetters, message.topic);
  env.metrics?.deadLettered(env.consumer, message.topic);
  log.warn(
    {
      consumer: env.consumer,
      dlqTopic: `${message.topic}.dlq`,
      deadLetters: count,
      error: describeError(error),
    },
    "dead letters of this consumer and topic changed",
  );
  return "dead-lettered";
};
