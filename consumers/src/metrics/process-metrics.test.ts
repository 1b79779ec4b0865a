import { randomUUID } from "node:crypto";
import { Admin } from "@platformatic/kafka";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { kafkaClientOptions } from "../runtime/kafka.ts";
import { type RunningConsumer, runConsumer } from "../runtime/runner.ts";
import { useConsumerTest } from "../test-support/consumer-run.ts";
import { brokers, testLog, waitUntil } from "../test-support/kafka.ts";
import { createProbeConsumer, PROBE_IN, PROBE_OUT } from "../test-support/probe-consumer.ts";
import { type Sample, scrape, sumOf } from "../test-support/prometheus.ts";
import { type OpsServer, startOpsServer } from "./ops-server.ts";
import { createProcessMetrics } from "./process-metrics.ts";

const probe = createProbeConsumer("metrics-probe");
const t = useConsumerTest({
  topics: [PROBE_IN, PROBE_OUT],
  options: {
    retry: { maxAttempts: 3, initialMs: 20, maxMs: 50 },
    transientRetry: { initialMs: 10, maxMs: 20, maxElapsedMs: 60_000 },
  },
});
const IN = `${t.topicPrefix}${PROBE_IN}`;
const admin = new Admin({ ...kafkaClientOptions(brokers()), clientId: `metrics-test-${randomUUID()}` });
let running: RunningConsumer | undefined;
let server: OpsServer;

beforeAll(async () => {
  const metrics = createProcessMetrics({
    db: t.db,
    admin,
    consumers: () => (running ? [running] : []),
    timeoutMs: 5_000,
    log: testLog,
  });
  running = await runConsumer(probe.def, { ...t.deps, metrics: metrics.consumer }, t.options);
  server = await startOpsServer({
    port: 0,
    host: "127.0.0.1",
    registry: metrics.registry,
    readiness: async () => ({}),
    log: testLog,
  });
});
// Registered after the fixture's, so it runs before the pool is closed.
afterAll(async () => {
  await running?.stop();
  await server?.close();
  await admin.close();
});

const metrics = (): Promise<Sample[]> => scrape(`${server.url}/metrics`);
const mine = { consumer: probe.def.name, topic: "" };

describe("consumer metrics on /metrics", () => {
  it("count outcomes, failures, retries, dead letters and processing times as events flow through Kafka", async () => {
    mine.topic = IN;
    const before = await metrics();
    expect(sumOf(before, "consumer_events_total", mine)).toBe(0);

    // One at a time: a lone message is handled by itself, never inside a batch that would take a
    // failure on its first try and then fall back to one-by-one (which is not a failed attempt).
    const id = () => randomUUID();
    const values: unknown[] = [
      { eventId: id() },
      { eventId: id() },
      { eventId: id() },
      { eventId: id(), failTimes: 1 },
      { eventId: id(), transientFailTimes: 1 },
      { eventId: id(), refused: true },
      "{ not json",
    ];
    let after: Sample[] = [];
    for (const [i, value] of values.entries()) {
      await t.producer.send([{ topic: IN, key: `k${i}`, value }]);
      await waitUntil(`outcome ${i + 1} on /metrics`, async () => {
        after = await metrics();
        return sumOf(after, "consumer_events_total", mine) === i + 1;
      });
    }
    const outcome = (name: string) => sumOf(after, "consumer_events_total", { ...mine, outcome: name });
    expect(outcome("applied")).toBe(5);
    expect(outcome("dead-lettered")).toBe(2);
    const failures = (kind: string) => sumOf(after, "consumer_event_failures_total", { ...mine, kind });
    expect([failures("handler"), failures("transient"), failures("invalid"), failures("dependency")]).toEqual(
      [2, 1, 1, 0],
    );
    const retries = (kind: string) => sumOf(after, "consumer_event_retries_total", { ...mine, kind });
    // The refused event and the unparseable one go to the dead letters without a retry.
    expect([retries("handler"), retries("transient")]).toEqual([1, 1]);
    expect(sumOf(after, "consumer_dead_letters_total", mine)).toBe(2);
    expect(sumOf(after, "consumer_event_processing_seconds_count", mine)).toBe(7);
    const slowest = sumOf(after, "consumer_event_processing_seconds_bucket", { ...mine, le: "+Inf" });
    expect(slowest).toBe(7);
  });

  it("reads the lag of every partition from Kafka and the outbox backlog from Postgres at scrape time", async () => {
    let samples: Sample[] = [];
    await waitUntil("lag read back to 0 on every partition", async () => {
      samples = await metrics();
      const lags = samples.filter(
        (s) => s.name === "consumer_lag_messages" && s.labels.group === running?.groupId,
      );
      return lags.length === 4 && lags.every((s) => s.value === 0);
    });
    const lags = samples.filter(
      (s) => s.name === "consumer_lag_messages" && s.labels.group === running?.groupId,
    );
    expect(lags.map((s) => s.labels.partition).sort()).toEqual(["0", "1", "2", "3"]);
    expect(lags.every((s) => s.labels.consumer === probe.def.name && s.labels.topic === IN)).toBe(true);
    expect(sumOf(samples, "consumer_metrics_read_ok", { source: "kafka_lag" })).toBe(1);
    expect(sumOf(samples, "consumer_metrics_read_ok", { source: "outbox" })).toBe(1);
    const rows = samples.find((s) => s.name === "outbox_unpublished_rows");
    const age = samples.find((s) => s.name === "outbox_oldest_unpublished_age_seconds");
    expect(rows?.value).toBeGreaterThanOrEqual(0);
    expect(age?.value).toBeGreaterThanOrEqual(0);
    // What waits elsewhere in the pipeline's tables, read at the same time.
    for (const name of [
      "effects_pending_rows",
      "effects_oldest_pending_age_seconds",
      "orders_pending",
      "orders_pending_oldest_age_seconds",
    ]) {
      expect(samples.find((s) => s.name === name)?.value).toBeGreaterThanOrEqual(0);
    }
    expect(
      samples
        .filter((s) => s.name === "pipeline_parked_rows")
        .map((s) => s.labels.kind)
        .sort(),
    ).toEqual(["effects", "emails", "outbox"]);
    // Every running consumer has its parked-events series (0 here: nothing is parked after the events above).
    expect(sumOf(samples, "consumer_parked_events", { consumer: probe.def.name })).toBe(0);
    // The Node process itself is there too (memory, event-loop delay).
    expect(samples.some((s) => s.name === "nodejs_eventloop_lag_p99_seconds")).toBe(true);
  });
});
