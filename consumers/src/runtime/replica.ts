import { Consumer, type MessagesStream } from "@platformatic/kafka";
import type { Logger } from "pino";
import type { KafkaSecurity } from "../../../services/kafka-client/security.ts";
import { backoffDelay, sleep } from "./backoff.ts";
import { type KafkaMessage, kafkaClientOptions, partitionKey } from "./kafka.ts";
import { PartitionLane } from "./partition-lane.ts";
import { processBatch } from "./process-batch.ts";
import type { ProcessEnv } from "./process-message.ts";

export interface KafkaGroupSettings {
  sessionTimeoutMs: number;
  heartbeatIntervalMs: number;
  /** Longest a fetch waits for new messages (also bounds how fast a stop is noticed). */
  maxWaitTimeMs: number;
  /** A fetch answers once this many bytes are there (or after `maxWaitTimeMs`); default 1. */
  minBytes?: number;
}

export interface ReplicaOptions {
  groupId: string;
  clientId: string;
  brokers: string[];
  security: KafkaSecurity;
  topics: string[];
  env: ProcessEnv;
  kafka: KafkaGroupSettings;
  /** Messages buffered across partitions before fetching pauses. */
  maxBuffered: number;
  /** Most messages of one partition handled together (one transaction, one offset commit). */
  maxBatch: number;
  log: Logger;
}

export interface Replica {
  /** Resolves once the replica joined the group and consumes (or gave up because it was stopped). */
  ready: Promise<void>;
  /**
   * First half of a stop: no more fetching; events in flight finish (abandoned uncommitted after
   * `graceMs`) and their offsets are committed while every replica is still in the group, so no
   * rebalance (set off by a replica leaving) stands in the way of those commits.
   */
  drain(graceMs: number): Promise<void>;
  /** Second half: closes the stream (flushing queued offsets) and leaves the group. */
  close(): Promise<void>;
}

type Stream = MessagesStream<Buffer | undefined, Buffer | undefined, Buffer, Buffer>;

const COMMIT_WAIT_MS = 10_000;

/** One member of the consumer group: a Kafka consumer whose partitions each run in their own lane. */
export const startReplica = (o: ReplicaOptions): Replica => {
  const log = o.log;
  const consumer = new Consumer<Buffer | undefined, Buffer | undefined, Buffer, Buffer>({
    ...kafkaClientOptions(o.brokers, o.security),
    clientId: o.clientId,
    groupId: o.groupId,
    autocommit: false,
    sessionTimeout: o.kafka.sessionTimeoutMs,
    rebalanceTimeout: Math.max(o.kafka.sessionTimeoutMs, 30_000),
    heartbeatInterval: o.kafka.heartbeatIntervalMs,
    maxWaitTime: o.kafka.maxWaitTimeMs,
    minBytes: o.kafka.minBytes ?? 1,
  });
  const lanes = new Map<string, PartitionLane>();
  const stopping = new AbortController();
  let stream: Stream | undefined;
  let paused = false;

  const buffered = (): number => [...lanes.values()].reduce((n, lane) => n + lane.queued, 0);
  const resumeIfDrained = (): void => {
    if (!paused || stopping.signal.aborted || buffered() > o.maxBuffered / 2) return;
    paused = false;
    stream?.resume();
  };

  const commit = async (message: KafkaMessage): Promise<void> => {
    // A commit asked for mid-rebalance is sent once the group is stable again; do not wait forever.
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), COMMIT_WAIT_MS);
    });
    try {
      const result = await Promise.race([
        Promise.resolve(message.commit()).then(() => "ok" as const),
        timeout,
      ]);
      if (result === "timeout") log.warn({ offset: `${message.offset}` }, "offset commit still pending");
    } catch (error) {
      // The event is in Postgres: a redelivery is skipped as a duplicate event id.
      log.warn(
        { err: error, offset: `${message.offset}` },
        "offset commit failed; a redelivery will be a no-op",
      );
    } finally {
      clearTimeout(timer);
    }
  };

  /**
   * Each partition's commits in flight, one after another (a later offset never lands before an
   * earlier one). The lane does not wait for them: the commit is queued in the client at once, which
   * commits what it holds before it gives a partition away in a rebalance; a stop waits for them.
   */
  const committing = new Map<string, Promise<void>>();
  const commitSoon = (message: KafkaMessage): void => {
    const key = partitionKey(message.topic, message.partition);
    const next = (committing.get(key) ?? Promise.resolve()).then(() => commit(message));
    committing.set(key, next);
    void next.finally(() => {
      if (committing.get(key) === next) committing.delete(key);
    });
  };
  const commitsDone = async (): Promise<void> => {
    await Promise.all(committing.values());
  };

  const work = async (messages: KafkaMessage[], abandon: AbortSignal): Promise<bigint | undefined> => {
    const started = performance.now();
    const outcomes = await processBatch(messages, o.env, { abandon, stopping: stopping.signal });
    // Events applied together in one transaction each took the batch's time.
    const seconds = (performance.now() - started) / 1000;
    let last: KafkaMessage | undefined;
    for (const [i, outcome] of outcomes.entries()) {
      o.env.counts[outcome]++;
      const topic = messages[i]?.topic ?? "";
      // A parked event ends later, at the retrier (applied or dead-lettered), which counts its outcome.
      if (outcome === "parked") o.env.metrics?.eventParked(o.env.consumer, topic);
      else o.env.metrics?.eventEnded(o.env.consumer, topic, outcome, seconds);
      if (outcome === "abandoned") break;
      last = messages[i];
    }
    if (!last) return undefined;
    commitSoon(last);
    return last.offset;
  };

  const laneFor = (topic: string, partition: number): PartitionLane => {
    const key = partitionKey(topic, partition);
    let lane = lanes.get(key);
    if (!lane) {
      lane = new PartitionLane(
        key,
        work,
        {
          settled: resumeIfDrained,
          failed: (error, messages) =>
            log.error(
              { err: error, key, offsets: messages.map((m) => `${m.offset}`) },
              "message worker failed",
            ),
        },
        o.maxBatch,
      );
      lanes.set(key, lane);
    }
    return lane;
  };

  const isAssigned = (topic: string, partition: number): boolean =>
    consumer.assignments?.some((a) => a.topic === topic && a.partitions.includes(partition)) ?? false;

  const onData = (message: KafkaMessage): void => {
    // Late data of a partition given away in a rebalance belongs to its new owner.
    if (stopping.signal.aborted || !isAssigned(message.topic, message.partition)) return;
    laneFor(message.topic, message.partition).offer(message);
    if (!paused && buffered() >= o.maxBuffered) {
      paused = true;
      stream?.pause();
    }
  };

  consumer.on("consumer:group:join", ({ assignments }) => {
    const owned = new Set(assignments?.flatMap((a) => a.partitions.map((p) => partitionKey(a.topic, p))));
    for (const [key, lane] of lanes) {
      if (owned.has(key)) continue;
      // The lane stays: should the partition come back, its messages still run one at a time.
      const dropped = lane.reset();
      if (dropped > 0)
        log.info({ key, dropped }, "partition revoked; its queued messages go to the new owner");
    }
    log.info({ assignments: [...owned] }, "joined the consumer group");
    resumeIfDrained();
  });

  const open = async (): Promise<void> => {
    for (let attempt = 1; !stopping.signal.aborted; attempt++) {
      try {
        const next: Stream = await consumer.consume({
          topics: o.topics,
          autocommit: false,
          mode: "committed",
          // A partition without a committed offset starts at its beginning: nothing is skipped.
          fallbackMode: "earliest",
        });
        stream = next;
        paused = false;
        next.on("data", onData);
        next.on("error", (error) => log.error({ err: error }, "Kafka stream failed"));
        next.once("close", () => {
          if (stopping.signal.aborted || stream !== next) return;
          log.warn("Kafka stream closed; reopening");
          void open();
        });
        return;
      } catch (error) {
        const wait = backoffDelay(attempt, o.env.dependencyBackoff);
        log.error({ err: error, attempt, waitMs: wait }, "could not start consuming; retrying");
        await sleep(wait, stopping.signal);
      }
    }
  };
  const ready = open();

  return {
    ready,
    async drain(graceMs) {
      stopping.abort();
      await ready;
      stream?.pause();
      for (const lane of lanes.values()) lane.dropQueued();
      const idle = Promise.all([...lanes.values()].map((lane) => lane.idle()));
      const finished = await Promise.race([idle.then(() => true), sleep(graceMs).then(() => false)]);
      if (!finished) {
        log.warn({ graceMs }, "events still in flight at the shutdown deadline; abandoning them uncommitted");
        for (const lane of lanes.values()) lane.reset();
        await idle;
      }
      await commitsDone();
    },
    async close() {
      await commitsDone();
      // Offsets whose commit was put off by a rebalance: commit them now (the client rejoins if it
      // must). Closing the stream would flush them only if the group happens to be stable.
      const pending = [...(stream?.offsetsToCommit.values() ?? [])];
      if (pending.length > 0) {
        await consumer
          .commit({ offsets: pending })
          .catch((error: unknown) =>
            log.warn({ err: error }, "final offset commit failed; redeliveries are no-ops"),
          );
      }
      await stream?.close().catch((error: unknown) => log.warn({ err: error }, "closing the stream failed"));
      await consumer.close().catch(async (error: unknown) => {
        log.warn({ err: error }, "leaving the group failed; closing anyway");
        await consumer.close(true);
      });
    },
  };
};
