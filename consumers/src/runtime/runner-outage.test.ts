import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createNodeDb } from "../../../db/node-client.ts";
import {
  brokers,
  createTestProducer,
  createTopics,
  dropTopics,
  isolation,
  readTopic,
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
import { type RunningConsumer, runConsumer } from "./runner.ts";

/** The throwaway PostgreSQL of the fault drills (local/drills.ts): stopped and started by this test. */
const stack = inject("stack");
const drill = async (action: "stop" | "start"): Promise<void> => {
  const response = await fetch(`${stack.drillControlUrl}/postgres/${action}`, { method: "POST" });
  if (!response.ok) throw new Error(`drill ${action} failed: ${response.status} ${await response.text()}`);
};

const { topicPrefix, groupSuffix } = isolation();
const IN = `${topicPrefix}${PROBE_IN}`;
const { db, pool } = createNodeDb(stack.drillDatabaseUrl, { max: 4 });
const probe = createProbeConsumer("outage-probe");
let runner: RunningConsumer;
let producer: TestProducer;

beforeAll(async () => {
  await createTopics(topicPrefix, [PROBE_IN, PROBE_OUT]);
  producer = createTestProducer();
  runner = await runConsumer(
    probe.def,
    { db, pool, brokers: brokers(), log: testLog },
    {
      topicPrefix,
      groupSuffix,
      startAt: "latest",
      retry: { maxAttempts: 2, initialMs: 20, maxMs: 50 },
      dependencyBackoff: { initialMs: 100, maxMs: 500 },
      kafka: { heartbeatIntervalMs: 500, sessionTimeoutMs: 10_000, maxWaitTimeMs: 200 },
      relayIntervalMs: 200,
    },
  );
});

afterAll(async () => {
  await drill("start");
  await runner?.stop();
  await producer?.close();
  await dropTopics(db, topicPrefix);
  await pool.end();
});

describe("runner during a Postgres outage", () => {
  it("waits for Postgres without dead-lettering or skipping anything, then handles every event", async () => {
    const warmUp = { eventId: randomUUID() };
    await producer.send([{ topic: IN, key: warmUp.eventId, value: warmUp }]);
    await waitUntil(
      "the warm-up event",
      async () => (await countProcessed(db, probe.def.name, [warmUp.eventId])) === 1,
    );

    await drill("stop");
    const events = Array.from({ length: 12 }, () => ({ eventId: randomUUID() }));
    await producer.send(events.map((e) => ({ topic: IN, key: e.eventId, value: e })));
    // Well past the two attempts an ordinary failure would get before its dead letter.
    await new Promise((r) => setTimeout(r, 3_000));
    expect(runner.counts()["dead-lettered"]).toBe(0);
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
    expect(runner.counts()).toMatchObject({ "dead-lettered": 0, abandoned: 0 });
    const letters = await readTopic(`${IN}.dlq`, () => false, 1_500);
    expect(letters).toHaveLength(0);
  });
});
