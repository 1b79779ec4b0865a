import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { useConsumerTest } from "../test-support/consumer-run.ts";
import { committedOffsets, waitUntil } from "../test-support/kafka.ts";
import {
  countProcessed,
  createProbeConsumer,
  outboxRowsOf,
  PROBE_IN,
  PROBE_OUT,
} from "../test-support/probe-consumer.ts";
import { runConsumer } from "./runner.ts";

const t = useConsumerTest({
  topics: [PROBE_IN, PROBE_OUT],
  options: { replicas: 2, maxBatch: 4 },
  poolMax: 8,
});
const { topicPrefix, db } = t;
const probe = createProbeConsumer("shutdown-probe");
const start = () => runConsumer(probe.def, t.deps, t.options);

describe("runner shutdown and rebalancing", () => {
  it("stops mid-stream (as on SIGTERM) and, restarted, handles every event exactly once", async () => {
    const first = await start();
    const events = Array.from({ length: 160 }, (_, i) => ({ eventId: randomUUID(), delayMs: 25, seq: i }));
    const ids = events.map((e) => e.eventId);
    await t.producer.send(
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
    const second = await runConsumer(probe.def, t.deps, { ...t.options, replicas: 1 });
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
    await t.producer.send(
      events.map((e) => ({ topic: `${topicPrefix}${PROBE_IN}`, key: e.eventId, value: e })),
    );
    await waitUntil("some events handled", async () => (await countProcessed(db, probe.def.name, ids)) >= 30);
    const second = await start();
    try {
      await waitUntil(
        "every event",
        async () => (await countProcessed(db, probe.def.name, ids)) === ids.length,
      );
      // Outcomes are counted just after a batch's commit.
      await waitUntil(
        "every outcome counted",
        async () => first.counts().applied + second.counts().applied >= ids.length,
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
