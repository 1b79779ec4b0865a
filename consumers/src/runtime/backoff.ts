import { setTimeout as delay } from "node:timers/promises";

/** Exponential backoff: `initialMs * 2^(attempt-1)`, capped at `maxMs`, with "equal jitter". */
export interface Backoff {
  initialMs: number;
  maxMs: number;
}

/** How a handler failure is retried before its event goes to the dead-letter topic. */
export interface RetryPolicy extends Backoff {
  /** Tries in all, the first included; the last failure sends the event to `<topic>.dlq`. */
  maxAttempts: number;
}

/**
 * How a transient failure (`transient: true`, e.g. the payment processor timing out) is retried:
 * exponential backoff with full jitter, for as long as `maxElapsedMs` after the first failure, then
 * the dead-letter topic. These retries do not count towards `RetryPolicy.maxAttempts`.
 */
export interface TransientRetry extends Backoff {
  maxElapsedMs: number;
}

export const DEFAULT_TRANSIENT_RETRY: TransientRetry = {
  initialMs: 200,
  maxMs: 10_000,
  maxElapsedMs: 120_000,
};

export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 5, initialMs: 200, maxMs: 5_000 };
/** A dependency that is down (Postgres, Kafka) is waited for without limit, polling at most this slowly. */
export const DEFAULT_DEPENDENCY_BACKOFF: Backoff = { initialMs: 250, maxMs: 10_000 };

/**
 * The wait before retry number `attempt` (1-based): half of the exponential step is fixed and
 * half random, so replicas that failed together do not retry together.
 */
export const backoffDelay = (
  attempt: number,
  backoff: Backoff,
  random: () => number = Math.random,
): number => {
  const exponent = Math.min(Math.max(attempt - 1, 0), 30);
  const step = Math.min(backoff.maxMs, backoff.initialMs * 2 ** exponent);
  return Math.round(step / 2 + random() * (step / 2));
};

/** The wait before retry number `attempt` with "full jitter": anywhere from 0 to the exponential step. */
export const fullJitterDelay = (
  attempt: number,
  backoff: Backoff,
  random: () => number = Math.random,
): number => {
  const exponent = Math.min(Math.max(attempt - 1, 0), 30);
  return Math.round(random() * Math.min(backoff.maxMs, backoff.initialMs * 2 ** exponent));
};

/** Sleeps `ms`; resolves false (early) when `signal` aborts, true otherwise. */
export const sleep = async (ms: number, signal?: AbortSignal): Promise<boolean> => {
  if (signal?.aborted) return false;
  try {
    await delay(ms, undefined, signal ? { signal } : undefined);
    return true;
  } catch (error) {
    if (signal?.aborted) return false;
    throw error;
  }
};
