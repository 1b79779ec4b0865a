import pMap from "p-map";
import type { ParkedEventRow } from "../../../db/schema/index.ts";
import { failureKind } from "../metrics/consumer-metrics.ts";
import { backoffDelay, fullJitterDelay } from "./backoff.ts";
import { describeError, isNonRetryable, isTransient } from "./failures.ts";
import {
  claimDueHeads,
  claimNextOfKey,
  nextDueInMs,
  parkedMessage,
  recordDeadLetter,
  recordParkedFailure,
} from "./parked.ts";
import { deadLetter, type ProcessEnv, parseMessage } from "./process-message.ts";
import { type PassResult, type Pump, startPump } from "./pump.ts";
import { applyOne } from "./run-event.ts";

export interface ParkedRetrierOptions {
  /** Only events read from topics with this prefix (the run's). */
  topicPrefix: string;
  /** Keys retried at once. */
  concurrency?: number;
  /** Polling interval; parking an event also kicks the retrier. */
  intervalMs?: number;
  /** How long a claimed event is this retrier's before another may take it (a retrier that died). */
  leaseMs?: number;
  /** Stops waiting for Kafka (a dead letter) when the consumer stops. */
  stopping: AbortSignal;
}

export const DEFAULT_PARKED_LEASE_MS = 120_000;

/**
 * The retrier of a consumer's parked events (see parked.ts): claims the due first event of each key,
 * a few keys at a time, and tries it once, the way the lane would have (duplicate check, `prepare`,
 * one transaction that also deletes the parked row). When it is applied, the next parked event of its
 * key follows at once. A failure is counted and tried again after a backoff: transient ones (a
 * processor timing out) for `transientRetry.maxElapsedMs` after the first failure, others for
 * `retry.maxAttempts` tries; then, or at once for an event that can never succeed, the original
 * message goes to the dead letters and the key moves on. An outage (Postgres down) is not counted.
 */
export const startParkedRetrier = (env: ProcessEnv, o: ParkedRetrierOptions): Pump => {
  const leaseMs = o.leaseMs ?? DEFAULT_PARKED_LEASE_MS;
  const concurrency = o.concurrency ?? 32;
  let outage = false;

  const ended = (row: ParkedEventRow, outcome: "applied" | "duplicate" | "dead-lettered"): void => {
    env.counts[outcome]++;
    const seconds = (Date.now() - row.createdAt.getTime()) / 1000;
    env.metrics?.eventEnded(env.consumer, row.topic, outcome, seconds);
  };

  /** One try at a parked event; answers whether its key may go on to its next event. */
  const tryOnce = async (row: ParkedEventRow): Promise<boolean> => {
    const message = parkedMessage(row);
    const log = env.log.child({ topic: row.topic, key: row.key, eventId: row.eventId, parkedId: row.id });
    if (row.reason === "dead") return deadLetterRow(row, row.lastError ?? "given up on", row.attempts);
    const parsed = parseMessage(message, env.subscriptions.get(row.topic));
    if (!parsed.ok) return deadLetterRow(row, parsed.error, row.attempts);
    try {
      const applied = await applyOne(
        env,
        {
          subscription: parsed.subscription,
          event: parsed.event,
          eventId: parsed.eventId,
          log,
          source: { topic: row.topic, partition: row.partition, offset: row.offset },
        },
        { unpark: [row.id] },
      );
      env.committed({ emitted: applied.emitted.length, effects: applied.effects.length, parked: 0 });
      if (row.attempts > 0) log.info({ attempts: row.attempts }, "parked event applied");
      ended(row, applied.outcome);
      return true;
    } catch (error) {
      const kind = failureKind(error);
      env.metrics?.eventFailed(env.consumer, row.topic, kind);
      if (kind === "dependency") {
        outage = true;
        await recordParkedFailure(env.db, row.id, {
          countAttempt: false,
          error: describeError(error),
          retryInMs: backoffDelay(1, env.dependencyBackoff),
        }).catch(() => undefined); // Postgres is down: the lease ends on its own
        return false;
      }
      const attempts = row.attempts + 1;
      const firstFailedAt = row.firstFailedAt?.getTime() ?? Date.now();
      const giveUp =
        isNonRetryable(error) ||
        (isTransient(error)
          ? Date.now() - firstFailedAt >= env.transientRetry.maxElapsedMs
          : attempts >= env.retry.maxAttempts);
      if (giveUp) return deadLetterRow(row, error, attempts);
      const retryInMs = isTransient(error)
        ? Math.min(
            fullJitterDelay(attempts, env.transientRetry),
            Math.max(0, env.transientRetry.maxElapsedMs - (Date.now() - firstFailedAt)),
          )
        : backoffDelay(attempts, env.retry);
      log.warn(
        { err: describeError(error), kind, attempts, retryInMs },
        "parked event failed again; retrying later",
      );
      env.metrics?.eventRetried(env.consumer, row.topic, kind);
      await recordParkedFailure(env.db, row.id, {
        countAttempt: true,
        error: describeError(error),
        retryInMs,
      });
      return false;
    }
  };

  /**
   * Sends the event to the dead letters and drops its row; a letter Kafka refuses stays parked
   * (`dead`), tried again with backoff, visible with `npm run dlq -- parked`.
   */
  const deadLetterRow = async (row: ParkedEventRow, error: unknown, attempts: number): Promise<boolean> => {
    const outcome = await deadLetter(parkedMessage(row), env, o.stopping, error, Math.max(1, attempts));
    if (outcome === "abandoned") return false;
    if (outcome === "refused") {
      await recordParkedFailure(env.db, row.id, {
        countAttempt: true,
        error: describeError(error),
        retryInMs: backoffDelay(row.attempts + 1, env.retry),
        reason: "dead",
      });
      return false;
    }
    await recordDeadLetter(env.db, row, { error: describeError(error), attempts: Math.max(1, attempts) });
    ended(row, outcome);
    return true;
  };

  /** The key's parked events one after another, as long as each is applied. */
  const drainKey = async (head: ParkedEventRow): Promise<void> => {
    for (let row: ParkedEventRow | undefined = head; row && !o.stopping.aborted; ) {
      if (!(await tryOnce(row))) return;
      row = await claimNextOfKey(env.db, row, leaseMs);
    }
  };

  const pass = async (): Promise<PassResult> => {
    outage = false;
    const heads = await claimDueHeads(env.db, {
      consumer: env.consumer,
      topicPrefix: o.topicPrefix,
      limit: concurrency,
      leaseMs,
    });
    await pMap(heads, drainKey, { concurrency });
    if (outage) return "outage";
    if (heads.length === concurrency) return "more";
    const due = await nextDueInMs(env.db, { consumer: env.consumer, topicPrefix: o.topicPrefix });
    return due === undefined ? "done" : { dueInMs: due };
  };

  return startPump({
    name: `parked events of ${env.consumer}`,
    log: env.log,
    intervalMs: o.intervalMs ?? 1_000,
    pass,
    backoff: env.dependencyBackoff,
  });
};
