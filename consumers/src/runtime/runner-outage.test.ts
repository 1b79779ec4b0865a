import { randomUUID } from "node:crypto";
import { afterAll, describe, expect, inject, it } from "vitest";
import { useConsumerTest } from "../test-support/consumer-run.ts";
import { readTopic, waitUntil } from "../test-support/kafka.ts";
import {
  countProcessed,
  createProbeConsumer,
  outboxRowsOf,
  PROBE_IN,
  PROBE_OUT,
} from "../test-support/probe-consumer.ts";

/** The throwaway PostgreSQL of the fault drills (local/drills.ts): stopped and started by this test. */
const stack = inject("stack");
const drill = async (action: "stop" | "start"): Promise<void> => {
  const response = await fetch(`${stack.drillControlUrl}/postgres/${action}`, { method: "POST" });
  if (!response.ok) throw new Error(`drill ${action} failed: ${response.status} ${await response.text()}`);
};

const probe = createProbeConsumer("outage-probe");
const t = useConsumerTest({
  topics: [PROBE_IN, PROBE_OUT],
  def: probe.def,
  options: {
    retry: { maxAttempts: 2, initialMs: 20, maxMs: 50 },
    dependencyBackoff: { initialMs: 100, maxMs: 500 },
  },
  databaseUrl: stack.drillDatabaseUrl,
});
const { topicPrefix, db } = t;
// Before the fixture stops the consumer (after-hooks run last registered first).
afterAll(async () => {
  await drill("start");
});
const IN = `${topicPrefix}${PROBE_IN}`;

describe("runner during a Postgres outage", () => {
  it("waits for Postgres without dead-lettering or skipping anything, then handles every event", async () => {
    const warmUp = { eventId: randomUUID() };
    await t.producer.send([{ topic: IN, key: warmUp.eventId, value: warmUp }]);
    await waitUntil(
      "the warm-up event",
      async () => (await countProcessed(db, probe.def.name, [warmUp.eventId])) === 1,
    );

    await drill("stop");
    const events = Array.from({ length: 12 }, () => ({ eventId: randomUUID() }));
    await t.producer.send(events.map((e) => ({ topic: IN, key: e.eventId, value: e })));
    // Well past the two attempts an ordinary failure would get before its dead letter.
    await new Promise((r) => setTimeout(r, 3_000));
    expect(t.runner.counts()["dead-lettered"]).toBe(0);
    await drill("start");

    const ids = events.map((e) => e.eventId);
    await waitUntil("every event after the outage", async () => {
      try {
        return (await countProcessed(db, probe.def.name, ids)) === ids.length;
      } catch {
        return false; // the pool is reconnecting
      }
    });
    const rows = await outboxRowsOf(db, `${topicPrefix}${PROBE_OUT}`, ids);
    expect(rows).toHaveLength(ids.length);
    await waitUntil("the outbox relayed", async () =>
      (await outboxRowsOf(db, `${topicPrefix}${PROBE_OUT}`, ids)).every((r) => r.publishedAt !== null),
    );
    expect(t.runner.counts()).toMatchObject({ "dead-lettered": 0, abandoned: 0 });
    const letters = await readTopic(`${IN}.dlq`, () => false, 1_500);
    expect(letters).toHaveLength(0);
  });
});
