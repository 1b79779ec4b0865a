import type { Logger } from "pino";
import { z } from "zod";
import type { Db } from "../../../db/node-client.ts";
import { type ConsumerMetrics, failureKind } from "../metrics/consumer-metrics.ts";
import type { Applied } from "./apply-event.ts";
import {
  type Backoff,
  backoffDelay,
  fullJitterDelay,
  type RetryPolicy,
  sleep,
  type TransientRetry,
} from "./backoff.ts";
import { countDeadLetter, type DeadLetterCounts, publishDeadLetter } from "./dead-letter.ts";
import { describeError, isDependencyDown, isNonRetryable, isTransient } from "./failures.ts";
import type { KafkaMessage, KafkaProducer } from "./kafka.ts";
import { createEventRun } from "./run-event.ts";
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
  /** Failures marked `transient: true` (a remote service timing out): retried for minutes. */
  transientRetry: TransientRetry;
  dependencyBackoff: Backoff;
  /** Dead letters sent per source topic since start (shared by the consumer's replicas), for logs. */
  deadLetters: DeadLetterCounts;
  topicName: (topic: string) => string;
  /** Counters of outcomes, failures, retries and dead letters (Prometheus), when the process exports them. */
  metrics?: ConsumerMetrics;
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

/** A message whose value parsed: its subscription, the event and its id. */
export type ParsedMessage = Extract<Parsed, { ok: true }>;

/**
 * Handles one message to the end: parse (unparseable → dead letter), then run the event (prepare,
 * one transaction, after-commit hooks: see run-event.ts), retrying failures until they dead-letter
 * the event: transient ones with full-jitter backoff for `transientRetry.maxElapsedMs`, others for
 * `retry.maxAttempts` tries. A dependency outage (Postgres, Redis) is waited out for as long as it
 * lasts without counting it as an attempt.
 */
export const processMessage = (
  message: KafkaMessage,
  env: ProcessEnv,
  signals: ProcessSignals,
): Promise<MessageOutcome> => {
  const parsed = parseMessage(message, env.subscriptions.get(message.topic));
  if (parsed.ok) return runParsed(message, parsed, env, signals);
  env.metrics?.eventFailed(env.consumer, message.topic, "invalid");
  return deadLetter(message, env, signals, parsed.error, 1);
};

const messageLog = (message: KafkaMessage, env: ProcessEnv) =>
  env.log.child({ topic: message.topic, partition: message.partition, offset: `${message.offset}` });

const deadLetter = async (
  message: KafkaMessage,
  env: ProcessEnv,
  signals: ProcessSignals,
  error: unknown,
  attempts: number,
): Promise<MessageOutcome> => {
  const log = messageLog(message, env);
  log.error({ err: error, attempts }, "sending the event to the dead-letter topic");
  const letter = { message, error, attempts, consumer: env.consumer };
  const sent = await publishDeadLetter(env.producer, letter, {
    backoff: env.dependencyBackoff,
    log,
    signal: signals.abandon,
  });
  if (!sent) return "abandoned";
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

/**
 * The retry loop of one parsed event (see `processMessage`). `applied`: the event's transaction
 * already committed with others (a batch), so only its after-commit hooks are left to run.
 */
export const runParsed = async (
  message: KafkaMessage,
  parsed: ParsedMessage,
  env: ProcessEnv,
  signals: ProcessSignals,
  applied?: Applied,
): Promise<MessageOutcome> => {
  const source = { topic: message.topic, partition: message.partition, offset: message.offset };
  const log = messageLog(message, env);
  const eventLog = log.child({ eventId: parsed.eventId });
  const run = createEventRun(
    {
      db: env.db,
      consumer: env.consumer,
      subscription: parsed.subscription,
      event: parsed.event,
      eventId: parsed.eventId,
      log: eventLog,
      source,
      topicName: env.topicName,
    },
    applied,
  );
  let attempts = 0;
  let outages = 0;
  let transientTries = 0;
  let firstTransientAt = 0;
  // An event whose transaction committed is applied whatever happens next: its hooks get one try.
  let committedTry = applied !== undefined;
  for (;;) {
    if (signals.abandon.aborted && !committedTry) return "abandoned";
    committedTry = false;
    try {
      const { outcome } = await run.attempt();
      if (outages > 0) eventLog.info({ outages }, "dependency is back; event handled");
      return outcome;
    } catch (error) {
      const kind = failureKind(error);
      env.metrics?.eventFailed(env.consumer, message.topic, kind);
      if (isTransient(error)) {
        transientTries++;
        firstTransientAt ||= Date.now();
        const elapsed = Date.now() - firstTransientAt;
        if (elapsed >= env.transientRetry.maxElapsedMs)
          return deadLetter(message, env, signals, error, attempts + transientTries);
        const wait = Math.min(
          fullJitterDelay(transientTries, env.transientRetry),
          env.transientRetry.maxElapsedMs - elapsed,
        );
        eventLog.warn(
          { err: describeError(error), tries: transientTries, elapsedMs: elapsed, waitMs: wait },
          "transient failure; retrying",
        );
        env.metrics?.eventRetried(env.consumer, message.topic, kind);
        if (!(await sleep(wait, AbortSignal.any([signals.abandon, signals.stopping])))) return "abandoned";
        continue;
      }
      if (isDependencyDown(error)) {
        outages++;
        const wait = backoffDelay(outages, env.dependencyBackoff);
        eventLog.warn({ err: describeError(error), outages, waitMs: wait }, "dependency down; waiting");
        env.metrics?.eventRetried(env.consumer, message.topic, kind);
        if (!(await sleep(wait, AbortSignal.any([signals.abandon, signals.stopping])))) return "abandoned";
        continue;
      }
      attempts++;
      if (attempts >= env.retry.maxAttempts || isNonRetryable(error))
        return deadLetter(message, env, signals, error, attempts);
      const wait = backoffDelay(attempts, env.retry);
      eventLog.warn({ err: error, attempts, waitMs: wait }, "handler failed; retrying");
      env.metrics?.eventRetried(env.consumer, message.topic, kind);
      if (!(await sleep(wait, signals.abandon))) return "abandoned";
    }
  }
};
