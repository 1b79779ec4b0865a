import type { Admin } from "@platformatic/kafka";
import type { Logger } from "pino";
import { collectDefaultMetrics, Gauge, Registry } from "prom-client";
import type { Db } from "../../../db/node-client.ts";
import { withinDeadline } from "../../../domain/readiness.ts";
import { describeError } from "../runtime/failures.ts";
import { type ConsumerMetrics, createConsumerMetrics } from "./consumer-metrics.ts";
import { readConsumerLag } from "./kafka-lag.ts";
import { type OutboxBacklog, readOutboxBacklog } from "./outbox-backlog.ts";

/** A running consumer as the lag metric names it. */
export interface ConsumerGroupRef {
  name: string;
  groupId: string;
  topics: string[];
}

export interface ProcessMetricsOptions {
  db: Db;
  admin: Admin;
  /** The consumers of the process (read at every scrape, so consumers started later are included). */
  consumers: () => readonly ConsumerGroupRef[];
  /** Deadline of each scrape-time read (lag, outbox backlog): a hung dependency fails the read only. */
  timeoutMs: number;
  log: Logger;
}

export interface ProcessMetrics {
  registry: Registry;
  /** What the runner counts (pass it as `RunnerDeps.metrics`). */
  consumer: ConsumerMetrics;
}

/**
 * Everything the consumers' `/metrics` shows: the runner's counters, the Node process (memory, CPU,
 * event-loop delay), and two readings taken when Prometheus scrapes: lag per partition (from Kafka)
 * and the outbox backlog (from Postgres). A reading that fails or misses its deadline leaves its
 * series out of that scrape and sets `consumer_metrics_read_ok{source}` to 0; the scrape still answers.
 */
export const createProcessMetrics = (o: ProcessMetricsOptions): ProcessMetrics => {
  const registry = new Registry();
  const registers = [registry];
  collectDefaultMetrics({ register: registry });
  const consumer = createConsumerMetrics(registry);

  const readOk = new Gauge({
    name: "consumer_metrics_read_ok",
    help: "1 when the scrape-time reading of `source` (kafka_lag, outbox) succeeded, 0 when it failed or timed out",
    labelNames: ["source"] as const,
    registers,
  });
  const reading = async (source: string, read: () => Promise<void>): Promise<void> => {
    try {
      await withinDeadline(o.timeoutMs, source, read());
      readOk.set({ source }, 1);
    } catch (error) {
      readOk.set({ source }, 0);
      o.log.warn({ source, err: describeError(error) }, "metrics reading failed");
    }
  };

  new Gauge({
    name: "consumer_lag_messages",
    help: "Messages of a partition the consumer group has not committed yet (end offset minus committed offset)",
    labelNames: ["consumer", "group", "topic", "partition"] as const,
    registers,
    async collect() {
      this.reset();
      const consumers = o.consumers();
      const names = new Map(consumers.map((c) => [c.groupId, c.name]));
      await reading("kafka_lag", async () => {
        const lags = await readConsumerLag(o.admin, [...consumers]);
        for (const row of lags) {
          const labels = {
            consumer: names.get(row.groupId) ?? row.groupId,
            group: row.groupId,
            topic: row.topic,
            partition: String(row.partition),
          };
          this.set(labels, row.lag);
        }
      });
    },
  });

  // Both gauges are collected in parallel during one scrape: they share one read.
  let backlog: Promise<OutboxBacklog | undefined> | undefined;
  const readBacklog = (): Promise<OutboxBacklog | undefined> => {
    backlog ??= (async () => {
      let result: OutboxBacklog | undefined;
      await reading("outbox", async () => {
        result = await readOutboxBacklog(o.db);
      });
      return result;
    })().finally(() => {
      backlog = undefined;
    });
    return backlog;
  };
  /** NaN (unknown) when the reading failed, rather than a stale or a reassuring 0. */
  const backlogGauge = (name: string, help: string, pick: (b: OutboxBacklog) => number): Gauge =>
    new Gauge({
      name,
      help,
      registers,
      async collect() {
        const read = await readBacklog();
        this.set(read ? pick(read) : Number.NaN);
      },
    });
  backlogGauge(
    "outbox_unpublished_rows",
    "Outbox rows not yet published to Kafka (the table is shared: every consumer process reports it)",
    (b) => b.rows,
  );
  backlogGauge(
    "outbox_oldest_unpublished_age_seconds",
    "Age of the oldest unpublished outbox row; 0 when the outbox is empty",
    (b) => b.oldestAgeSeconds,
  );

  return { registry, consumer };
};
