import type pg from "pg";
import type { Logger } from "pino";
import type { Db } from "../../../db/node-client.ts";
import { consumerGroupId } from "../../../domain/topics.ts";
import type { KafkaSecurity } from "../../../services/kafka-client/security.ts";
import type { ConsumerMetrics } from "../metrics/consumer-metrics.ts";
import {
  type Backoff,
  DEFAULT_DEPENDENCY_BACKOFF,
  DEFAULT_RETRY,
  DEFAULT_TRANSIENT_RETRY,
  type RetryPolicy,
  type TransientRetry,
} from "./backoff.ts";
import { createEffectsRelay, type EffectsRelay } from "./effects.ts";
import { createKafkaProducer, type KafkaProducer } from "./kafka.ts";
import { createOutboxRelay, type OutboxRelay } from "./outbox-relay.ts";
import { startParkedRetrier } from "./parked-retrier.ts";
import { startPeriodicTasks } from "./periodic-tasks.ts";
import { guardPool } from "./pool-guard.ts";
import { emptyCounts, type OutcomeCounts, type ProcessEnv } from "./process-message.ts";
import type { Pump } from "./pump.ts";
import { type KafkaGroupSettings, type Replica, startReplica } from "./replica.ts";
import { type StartAt, seedStartOffsets } from "./start-offsets.ts";
import type { ConsumerDefinition, Subscription } from "./types.ts";

export interface RunnerDeps {
  db: Db;
  /** The pool behind `db`; the runner logs its connection errors (a Postgres restart) instead of crashing. */
  pool: pg.Pool;
  brokers: string[];
  /** A managed cluster's SASL login and TLS (services/kafka-client); none for a plaintext one. */
  kafkaSecurity?: KafkaSecurity;
  log: Logger;
  /** Producer of dead letters (and of the relay it creates); created and closed by the runner when absent. */
  producer?: KafkaProducer;
  /** A relay shared by the consumers of a process; created and stopped by the runner when absent. */
  relay?: OutboxRelay;
  /** The effects relay shared by the consumers of a process; created and stopped by the runner when absent. */
  effects?: EffectsRelay;
  /** Counters of outcomes, failures, retries and dead letters, when the process exports metrics. */
  metrics?: ConsumerMetrics;
}

export interface RunnerOptions {
  /** Consumer instances in the group (default 1); each takes its share of the partitions. */
  replicas?: number;
  /** Appended to `def.name` for the group id (tests, blue/green); processed_events keeps `def.name`. */
  groupSuffix?: string;
  /**
   * Prepended to every topic read, emitted and dead-lettered, and to the group id (runs sharing a
   * cluster: `dev.`, `test-<id>.`, isolated test files).
   */
  topicPrefix?: string;
  /** Where a group without committed offsets starts (default earliest: nothing is skipped). */
  startAt?: StartAt;
  retry?: Partial<RetryPolicy>;
  /** Failures marked `transient: true` (the payment processor): backoff and time budget. */
  transientRetry?: Partial<TransientRetry>;
  /** Waiting for a dependency that is down (Postgres, Kafka for dead letters). */
  dependencyBackoff?: Partial<Backoff>;
  /** How long a stop waits for events in flight before abandoning them uncommitted (default 15 s). */
  shutdownTimeoutMs?: number;
  /** Messages buffered per replica before fetching pauses (default 500). */
  maxBufferedMessages?: number;
  /** Most messages of one partition applied in one transaction (default 100; 1 = one by one). */
  maxBatch?: number;
  kafka?: Partial<KafkaGroupSettings>;
  /** Polling interval of the relays the runner creates (default 1 s). */
  relayIntervalMs?: number;
  /** The retrier of parked events: keys retried at once, polling interval, claim lease. */
  parked?: { concurrency?: number; intervalMs?: number; leaseMs?: number };
}

export interface RunningConsumer {
  name: string;
  groupId: string;
  topics: string[];
  /** Resolves once every replica joined the group and consumes. */
  ready: Promise<void>;
  /** Message outcomes since start, across replicas. */
  counts(): OutcomeCounts;
  /** Graceful stop: no more fetching, events in flight finish and commit, the outbox is flushed. */
  stop(): Promise<void>;
}

export const DEFAULT_KAFKA_GROUP: KafkaGroupSettings = {
  sessionTimeoutMs: 30_000,
  heartbeatIntervalMs: 3_000,
  maxWaitTimeMs: 1_000,
};

/**
 * Runs a consumer: `replicas` members of consumer group `def.name` over its subscriptions' topics,
 * each event applied exactly once in Postgres (see process-message.ts), offsets committed after.
 */
export const startConsumer = (
  def: ConsumerDefinition,
  deps: RunnerDeps,
  opts: RunnerOptions = {},
): RunningConsumer => {
  const prefix = opts.topicPrefix ?? "";
  const topicName = (topic: string): string => `${prefix}${topic}`;
  const groupId = consumerGroupId(def.name, prefix, opts.groupSuffix);
  const subscriptions = new Map<string, Subscription>(def.subscriptions.map((s) => [topicName(s.topic), s]));
  const topics = [...subscriptions.keys()];
  const log = deps.log.child({ consumer: def.name, groupId });
  guardPool(deps.pool, deps.log);
  const producer =
    deps.producer ?? createKafkaProducer(deps.brokers, `${groupId}-producer`, deps.kafkaSecurity);
  const intervalMs = opts.relayIntervalMs ? { intervalMs: opts.relayIntervalMs } : {};
  const relay =
    deps.relay ?? createOutboxRelay({ db: deps.db, producer, log, topicPrefix: prefix, ...intervalMs });
  const effects = deps.effects ?? createEffectsRelay({ db: deps.db, log, scope: prefix, ...intervalMs });
  effects.register(def.effects ?? []);
  const stopping = new AbortController();
  const counts = emptyCounts();
  const dependencyBackoff = { ...DEFAULT_DEPENDENCY_BACKOFF, ...opts.dependencyBackoff };
  let retrier: Pump | undefined;
  const env: ProcessEnv = {
    consumer: def.name,
    ...(def.lockFirst ? { lockFirst: def.lockFirst } : {}),
    subscriptions,
    db: deps.db,
    producer,
    log,
    retry: { ...DEFAULT_RETRY, ...opts.retry },
    transientRetry: { ...DEFAULT_TRANSIENT_RETRY, ...opts.transientRetry },
    deadLetters: new Map(),
    dependencyBackoff,
    topicName,
    scope: prefix,
    metrics: deps.metrics,
    counts,
    committed: (written) => {
      if (written.emitted > 0) relay.kick();
      if (written.effects > 0) effects.kick();
      if (written.parked > 0) retrier?.kick();
    },
  };
  retrier = startParkedRetrier(env, { topicPrefix: prefix, stopping: stopping.signal, ...opts.parked });
  const replicas: Replica[] = [];
  let stopped = false;
  let stopTasks: (() => Promise<void>) | undefined;

  const startReplicas = async (): Promise<void> => {
    await seedStartOffsets(
      deps.brokers,
      groupId,
      topics,
      opts.startAt ?? "earliest",
      log,
      deps.kafkaSecurity,
    );
    for (let index = 0; index < Math.max(1, opts.replicas ?? 1) && !stopped; index++) {
      replicas.push(
        startReplica({
          groupId,
          clientId: `${groupId}-${index}`,
          brokers: deps.brokers,
          security: deps.kafkaSecurity ?? {},
          topics,
          env,
          kafka: { ...DEFAULT_KAFKA_GROUP, ...opts.kafka },
          maxBuffered: opts.maxBufferedMessages ?? 500,
          maxBatch: opts.maxBatch ?? 100,
          log: log.child({ replica: index }),
        }),
      );
    }
    await Promise.all(replicas.map((r) => r.ready));
  };

  const ready = (async () => {
    // A consumer of tasks only (the saga's home reads no topic) joins no group.
    if (topics.length > 0) await startReplicas();
    if (!stopped && def.tasks?.length) {
      stopTasks = startPeriodicTasks(def.tasks, {
        db: deps.db,
        log,
        topicName,
        scope: prefix,
        committed: env.committed,
      });
    }
    log.info({ topics, replicas: replicas.length }, "consumer running");
  })();

  return {
    name: def.name,
    groupId,
    topics,
    ready,
    counts: () => ({ ...counts }),
    async stop() {
      if (stopped) return;
      stopped = true;
      stopping.abort();
      await ready.catch((error: unknown) => log.warn({ err: error }, "consumer had not started cleanly"));
      await stopTasks?.();
      const graceMs = opts.shutdownTimeoutMs ?? 15_000;
      await Promise.all([...replicas.map((r) => r.drain(graceMs)), retrier?.stop()]);
      await Promise.all(replicas.map((r) => r.close()));
      if (deps.relay) deps.relay.kick();
      else await relay.stop();
      if (deps.effects) deps.effects.kick();
      else await effects.stop();
      if (!deps.producer) await producer.close();
      log.info("consumer stopped");
    },
  };
};

/** `startConsumer`, resolved once the consumer is running. */
export const runConsumer = async (
  def: ConsumerDefinition,
  deps: RunnerDeps,
  opts: RunnerOptions = {},
): Promise<RunningConsumer> => {
  const running = startConsumer(def, deps, opts);
  try {
    await running.ready;
  } catch (error) {
    await running.stop();
    throw error;
  }
  return running;
};
