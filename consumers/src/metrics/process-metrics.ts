import type { Admin } from "@platformatic/kafka";
import type { Logger } from "pino";
import { collectDefaultMetrics, Gauge, Registry } from "prom-client";
import type { Db } from "../../../db/node-client.ts";
import { withinDeadline } from "../../../domain/readiness.ts";
import { describeError } from "../runtime/failures.ts";
import { type ConsumerMetrics, createConsumerMetrics } from "./consumer-metrics.ts";
import { readConsumerLag } from "./kafka-lag.ts";
import { type PipelineBacklog, readPipelineBacklog } from "./pipeline-backlog.ts";

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
  /**
   * Orders Kafka acknowledged and Postgres has not recorded within the reconciliation's grace (from
   * Redis; see orders/reconcile.ts). Absent: the gauge is not exported.
   */
  ackedUnrecorded?: () => Promise<number>;
}

export interface ProcessMetrics {
  registry: Registry;
  /** What the runner counts (pass it as `RunnerDeps.metrics`). */
  consumer: ConsumerMetrics;
}

/**
 * Everything the consumers' `/metrics` shows: the runner's counters, the Node process (memory, CPU,
 * event-loop delay), and two readings taken when Prometheus scrapes: lag per partition (from Kafka)
 * and what waits in the pipeline's tables (from Postgres: outbox, effects, parked rows and events, the
 * oldest pending order). A reading that fails or misses its deadline leaves its series out of that
 * scrape (or NaN) and sets `consumer_metrics_read_ok{source}` to 0; the scrape still answers.
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

  // The gauges below are collected in parallel during one scrape: they share one read.
  let backlog: Promise<PipelineBacklog | undefined> | undefined;
  const readBacklog = (): Promise<PipelineBacklog | undefined> => {
    backlog ??= (async () => {
      let result: PipelineBacklog | undefined;
      await reading("outbox", async () => {
        result = await readPipelineBacklog(o.db);
      });
      return result;
    })().finally(() => {
      backlog = undefined;
    });
    return backlog;
  };
  /** NaN (unknown) when the reading failed, rather than a stale or a reassuring 0. */
  const backlogGauge = (name: string, help: string, pick: (b: PipelineBacklog) => number): Gauge =>
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
    "Outbox rows not yet published to Kafka, parked ones apart (the table is shared: every consumer process reports it)",
    (b) => b.outbox.rows,
  );
  backlogGauge(
    "outbox_oldest_unpublished_age_seconds",
    "Age of the oldest unpublished outbox row (parked ones apart); 0 when there is none",
    (b) => b.outbox.oldestAgeSeconds,
  );
  backlogGauge(
    "effects_pending_rows",
    "Durable side effects (Redis writes) recorded and not applied yet, parked ones apart",
    (b) => b.effects.rows,
  );
  backlogGauge(
    "effects_oldest_pending_age_seconds",
    "Age of the oldest effect not applied yet; grows while Redis is down",
    (b) => b.effects.oldestAgeSeconds,
  );
  backlogGauge(
    "orders_pending_oldest_age_seconds",
    "Age of the oldest order still pending: how far behind the saga is, in time (consumer lag never cancels an order)",
    (b) => b.pendingOrders.oldestAgeSeconds,
  );
  backlogGauge("orders_pending", "Orders still pending", (b) => b.pendingOrders.rows);
  backlogGauge(
    "orders_unrecorded_dead_letters",
    "Orders whose order-placed the orders consumer sent to the dead letters and that Postgres never recorded (the saga cancels them; an operator fixes and replays)",
    (b) => b.unrecordedOrders,
  );
  backlogGauge(
    "orders_confirmed_uncaptured",
    "Confirmed orders whose payment is not captured yet; they are not sent to the warehouse until it is",
    (b) => b.uncapturedOrders.rows,
  );
  backlogGauge(
    "orders_confirmed_uncaptured_oldest_age_seconds",
    "How long the oldest confirmed order has waited for its capture (a capture dead-lettered waits for good)",
    (b) => b.uncapturedOrders.oldestAgeSeconds,
  );
  backlogGauge(
    "payments_unanswered_oldest_age_seconds",
    "Age of the oldest payment whose authorization's answer was never recorded and that reconciliation has not settled yet (it looks after PAYMENT_RECONCILE_AFTER_MS)",
    (b) => b.unreconciledPayments.oldestAgeSeconds,
  );
  new Gauge({
    name: "pipeline_parked_rows",
    help: "Rows given up on and parked, waiting for an operator (npm run dlq -- parked): kind is outbox, effects or emails",
    labelNames: ["kind"] as const,
    registers,
    async collect() {
      const read = await readBacklog();
      for (const kind of ["outbox", "effects", "emails"] as const)
        this.set({ kind }, read ? read.parked[kind] : Number.NaN);
    },
  });
  const ackedUnrecorded = o.ackedUnrecorded;
  if (ackedUnrecorded) {
    new Gauge({
      name: "orders_acknowledged_unrecorded",
      help: "Orders Kafka acknowledged to checkout that Postgres has not recorded after ORDER_RECONCILE_AFTER_MS (lost or stuck; published again)",
      registers,
      async collect() {
        let count = Number.NaN;
        await reading("acknowledged_orders", async () => {
          count = await ackedUnrecorded();
        });
        this.set(count);
      },
    });
  }
  const parkedEventsGauge = (
    name: string,
    help: string,
    pick: (w: { rows: number; oldestAgeSeconds: number }) => number,
  ) =>
    new Gauge({
      name,
      help,
      labelNames: ["consumer"] as const,
      registers,
      async collect() {
        this.reset();
        const read = await readBacklog();
        // Every running consumer has a series (0 when nothing is parked), so an alert sees it go up.
        for (const { name: consumer } of o.consumers())
          this.set(
            { consumer },
            read ? pick(read.parkedEvents.get(consumer) ?? { rows: 0, oldestAgeSeconds: 0 }) : Number.NaN,
          );
        for (const [consumer, w] of read?.parkedEvents ?? []) this.set({ consumer }, pick(w));
      },
    });
  parkedEventsGauge(
    "consumer_parked_events",
    "Events of a consumer parked: failing and retried with backoff, or waiting behind one of their key",
    (w) => w.rows,
  );
  parkedEventsGauge(
    "consumer_parked_events_oldest_age_seconds",
    "Age of the consumer's oldest parked event",
    (w) => w.oldestAgeSeconds,
  );

  return { registry, consumer };
};
