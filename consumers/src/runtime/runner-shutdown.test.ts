import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createNodeDb } from "../../../db/node-client.ts";
import {
  brokers,
  committedOffsets,
  createTestProducer,
  createTopics,
  dropTopics,
  isolation,
  type TestProducer,
  testLog,
  waitUntil,
} from "../test-support/kafka.ts";
import {
  countProcessed,
  createProbeConsumer,
  outboxRowsOf,
  PROBE_IN,
  PROBE_OUT,
} from "../test-support/probe-consumer.ts";
import { type RunnerOptions, runConsumer } from "./runner.ts";

const { topicPrefix, groupSuffix } = isolation();
const { db, pool } = createNodeDb(inject("stack").databaseUrl, { max: 8 });
const probe = createProbeConsumer("shutdown-probe");
let producer: TestProducer;
const options: RunnerOptions = {
  topicPrefix,
  groupSuffix,
  startAt: "latest",
  replicas: 2,
  kafka: { heartbeatIntervalMs: 500, sessionTimeoutMs: 10_000, maxWaitTimeMs: 200 },
  relayIntervalMs: 200,
};
const start = () => runConsumer(probe.def, { db, pool, brokers: brokers(), log: testLog }, options);

beforeAll(async () => {
  await createTopics(topicPrefix, [PROBE_IN, PROBE_OUT]);
  producer = createTestProducer();
});

afterAll(async () => {
  await producer?.close();
  await dropTopics(db, topicPrefix);
  await pool.end();
});

describe("runner shutdown and rebalancing", () => {
  it("stops mid-stream (as on SIGTERM) and, restarted, handles every event exactly once", async () => {
    const first = await start();
    const events = Array.from({ length: 160 }, (_, i) => ({ eventId: randomUUID(), delayMs: 25, seq: i }));
    const ids = events.map((e) => e.eventId);
    await producer.send(
      events.map((e) => ({ topic: `${topicPrefix}${PROBE_IN}`, key: e.eventId, value: e })),
    );
    await waitUntil("some events handled", async () => (await countProcessed(db, probe.def.name, ids)) >= 30);

    await first.stop();
    const handled = ids.filter((id) => probe.sources.has(id));
    expect(handled.length, "the stop should come mid-stream").toBeLessThan(ids.length);
    expect(await countProcessed(db, probe.def.name, ids)).toBe(handled.length);
    expect(first.counts()).toMatchObject({ applied: handled.length, duplicate: 0, abandoned: 0 });
    // Every event handled before the stop had its offset committed: per partition, the group's
    // offset is right after the last event handled there.
    const committed = await committedOffsets(first.groupId, `${topicPrefix}${PROBE_IN}`);
    const lastHandled = new Map<number, bigint>();
    for (const id of handled) {
      const { partition, offset } = probe.sources.get(id) ?? { partition: -1, offset: -1n };
      if (offset > (lastHandled.get(partition) ?? -1n)) lastHandled.set(partition, offset);
    }
    for (const [partition, offset] of lastHandled) expect(committed.get(partition)).toBe(offset + 1n);
    // The events in flight finished and their outbox rows were flushed before the stop returned.
    const flushed = await outboxRowsOf(db, `${topicPrefix}${PROBE_OUT}`, ids);
    expect(flushed).toHaveLength(handled.length);
    expect(flushed.every((r) => r.publishedAt !== null)).toBe(true);

    // One replica now, so no rebalance of its own can hand a partition over mid-event.
    const second = await runConsumer(
      probe.def,
      { db, pool, brokers: brokers(), log: testLog },
      { ...options, replicas: 1 },
    );
    try {
      await waitUntil(
        "every event",
        async () => (await countProcessed(db, probe.def.name, ids)) === ids.length,
      );
      // It started exactly where the first one stopped: nothing came back as a duplicate.
      expect(second.counts()).toMatchObject({ applied: ids.length - handled.length, duplicate: 0 });
      expect(ids.every((id) => probe.calls.get(id) === 1)).toBe(true);
      expect(await outboxRowsOf(db, `${topicPrefix}${PROBE_OUT}`, ids)).toHaveLength(ids.length);
    } finally {
      await second.stop();
    }
  });

  it("loses and repeats nothing when a replica joins mid-stream and partitions move", async () => {
    const first = await start();
    const events = Array.from({ length: 200 }, () => ({ eventId: randomUUID(), delayMs: 40 }));
    const ids = events.map((e) => e.eventId);
    await producer.send(
      events.map((e) => ({ topic: `${topicPrefix}${PROBE_IN}`, key: e.eventId, value: e })),
    );
    await waitUntil("some events handled", async () => (await countProcessed(db, probe.def.name, ids)) >= 30);
    const second = await start();
    try {
      await waitUntil(
        "every event",
        async () => (await countProcessed(db, probe.def.name, ids)) === ids.length,
      );
      const counts = [first.counts(), second.counts()];
      expect(
        second.counts().applied,
        "the new replica should take over partitions mid-stream",
      ).toBeGreaterThan(0);
      expect(counts.reduce((n, c) => n + c.applied, 0)).toBeGreaterThanOrEqual(ids.length);
      expect(counts.every((c) => c["dead-lettered"] === 0)).toBe(true);
      expect(ids.every((id) => probe.calls.get(id) === 1)).toBe(true);
      expect(await outboxRowsOf(db, `${topicPrefix}${PROBE_OUT}`, ids)).toHaveLength(ids.length);
    } finally {
      await Promise.all([first.stop(), second.stop()]);
    }
  });
});
