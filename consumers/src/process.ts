import type { Logger } from "pino";
import type { Db } from "../../db/node-client.ts";
import { kafkaSecurity } from "../../services/kafka-client/security.ts";
import type { Settings } from "./config.ts";
import { createEffectsRelay, type EffectsRelay } from "./runtime/effects.ts";
import { createKafkaProducer, type KafkaProducer } from "./runtime/kafka.ts";
import { createOutboxRelay, type OutboxRelay } from "./runtime/outbox-relay.ts";
import { startRetention } from "./runtime/retention.ts";
import type { RunnerOptions } from "./runtime/runner.ts";

/**
 * What a consumers process runs once, for all its consumers: one Kafka producer, the outbox relay,
 * the effects relay and the retention prune. `main.ts` and the in-process pipeline of the end-to-end
 * tests build it the same way.
 */
export interface ProcessRuntime {
  producer: KafkaProducer;
  relay: OutboxRelay;
  effects: EffectsRelay;
  /** Stops the prune, flushes both relays (best effort) and closes the producer. */
  stop(): Promise<void>;
}

export const startProcessRuntime = (o: {
  settings: Settings;
  db: Db;
  log: Logger;
  clientId: string;
  /** Overrides OUTBOX_RELAY_INTERVAL_MS for both relays (tests poll faster). */
  relayIntervalMs?: number;
}): ProcessRuntime => {
  const { settings: s } = o;
  const intervalMs = o.relayIntervalMs ?? s.OUTBOX_RELAY_INTERVAL_MS;
  const producer = createKafkaProducer(s.KAFKA_BROKERS, o.clientId, kafkaSecurity(s));
  const retry = {
    initialMs: Math.min(1_000, s.OUTBOX_RETRY_MAX_DELAY_MS),
    maxMs: s.OUTBOX_RETRY_MAX_DELAY_MS,
    maxAttempts: s.OUTBOX_MAX_ATTEMPTS,
  };
  const dependencyBackoff = { initialMs: 250, maxMs: s.DEPENDENCY_RETRY_MAX_DELAY_MS };
  const relay = createOutboxRelay({
    db: o.db,
    producer,
    log: o.log,
    intervalMs,
    topicPrefix: s.KAFKA_TOPIC_PREFIX,
    retry,
    dependencyBackoff,
  });
  const effects = createEffectsRelay({
    db: o.db,
    log: o.log,
    scope: s.KAFKA_TOPIC_PREFIX,
    intervalMs,
    retry,
    dependencyBackoff,
  });
  const retention = startRetention({
    db: o.db,
    log: o.log,
    outboxRetentionMs: s.OUTBOX_RETENTION_MS,
    processedEventsRetentionMs: s.PROCESSED_EVENTS_RETENTION_MS,
    intervalMs: s.RETENTION_INTERVAL_MS,
  });
  return {
    producer,
    relay,
    effects,
    stop: async () => {
      await retention.stop();
      await relay.stop();
      await effects.stop();
      await producer.close();
    },
  };
};

/** The runner's options as the settings give them (main.ts; the end-to-end tests start from these). */
export const runnerOptions = (s: Settings): RunnerOptions => ({
  topicPrefix: s.KAFKA_TOPIC_PREFIX,
  groupSuffix: s.CONSUMER_GROUP_SUFFIX,
  startAt: s.CONSUMER_START_AT,
  retry: {
    maxAttempts: s.RETRY_MAX_ATTEMPTS,
    initialMs: s.RETRY_INITIAL_DELAY_MS,
    maxMs: s.RETRY_MAX_DELAY_MS,
  },
  transientRetry: {
    initialMs: s.PAYMENT_RETRY_INITIAL_DELAY_MS,
    maxMs: s.PAYMENT_RETRY_MAX_DELAY_MS,
    maxElapsedMs: s.PAYMENT_RETRY_MAX_MS,
  },
  dependencyBackoff: { maxMs: s.DEPENDENCY_RETRY_MAX_DELAY_MS },
  shutdownTimeoutMs: s.SHUTDOWN_TIMEOUT_MS,
  maxBatch: s.CONSUMER_MAX_BATCH,
  kafka: {
    sessionTimeoutMs: s.KAFKA_SESSION_TIMEOUT_MS,
    heartbeatIntervalMs: s.KAFKA_HEARTBEAT_INTERVAL_MS,
    maxWaitTimeMs: s.KAFKA_FETCH_MAX_WAIT_MS,
    minBytes: s.KAFKA_FETCH_MIN_BYTES,
  },
  parked: { concurrency: s.PARKED_RETRY_CONCURRENCY, intervalMs: s.PARKED_RETRY_INTERVAL_MS },
});
