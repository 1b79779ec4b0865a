import { randomUUID } from "node:crypto";
import { and, eq, inArray } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { deadLetters, outbox, processedEvents } from "../../../db/schema/index.ts";
import { useConsumerTest } from "../test-support/consumer-run.ts";
import { jsonOf, readTopic, waitUntil } from "../test-support/kafka.ts";
import {
  countProcessed,
  createProbeConsumer,
  outboxRowsOf,
  PROBE_IN,
  PROBE_OUT,
  type ProbeEvent,
} from "../test-support/probe-consumer.ts";
import { DLQ_HEADERS } from "./dead-letter.ts";

const probe = createProbeConsumer("runner-probe");
const t = useConsumerTest({
  topics: [PROBE_IN, PROBE_OUT],
  def: probe.def,
  options: { retry: { maxAttempts: 3, initialMs: 20, maxMs: 100 } },
  poolMax: 8,
});
const { topicPrefix, db } = t;
const IN = `${topicPrefix}${PROBE_IN}`;
const OUT = `${topicPrefix}${PROBE_OUT}`;

const send = (events: ProbeEvent[], headers?: Record<string, string>) =>
  t.producer.send(
    events.map((e) => ({ topic: IN, key: e.outKey ?? e.eventId, value: e, ...(headers ? { headers } : {}) })),
  );
const processed = (...ids: string[]) => countProcessed(db, probe.def.name, ids);
const event = (extra: Partial<ProbeEvent> = {}): ProbeEvent => ({ eventId: randomUUID(), ...extra });

describe("runner", () => {
  it("gives a replayed event (same eventId delivered twice) no second effect", async () => {
    const key = `replay-${randomUUID()}`;
    const once = event({ outKey: key });
    const marker = event({ outKey: key });
    await send([once, once, marker]);
    await waitUntil("the marker behind the replay", async () => (await processed(marker.eventId)) === 1);
    expect(probe.calls.get(once.eventId)).toBe(1);
    expect(await outboxRowsOf(db, OUT, [once.eventId])).toHaveLength(1);
    const out = await readTopic(OUT, (ms) =>
      ms.some((m) => m.key === key && m.value.includes(marker.eventId)),
    );
    expect(out.filter((m) => m.value.includes(once.eventId))).toHaveLength(1);
  });

  it("retries a failing handler with backoff and applies the event once it succeeds", async () => {
    const flaky = event({ failTimes: 2 });
    await send([flaky]);
    await waitUntil("the flaky event", async () => (await processed(flaky.eventId)) === 1);
    expect(probe.calls.get(flaky.eventId)).toBe(3);
    expect(await outboxRowsOf(db, OUT, [flaky.eventId])).toHaveLength(1);
  });

  it("sends an event that fails every attempt to <topic>.dlq with its error, then moves on", async () => {
    const key = `dlq-${randomUUID()}`;
    const doomed = event({ failTimes: 1_000, outKey: key });
    const next = event({ outKey: key });
    await send([doomed, next], { "trace-id": "trace-123" });
    const letters = await readTopic(`${IN}.dlq`, (ms) => ms.some((m) => m.key === key));
    const letter = letters.find((m) => m.key === key);
    expect(letter?.value).toBe(JSON.stringify(doomed));
    expect(letter?.headers).toMatchObject({
      "trace-id": "trace-123",
      [DLQ_HEADERS.attempts]: "3",
      [DLQ_HEADERS.consumer]: "runner-probe",
      [DLQ_HEADERS.sourceTopic]: IN,
    });
    expect(letter?.headers[DLQ_HEADERS.error]).toContain(`probe failure 3 of ${doomed.eventId}`);
    expect(letter?.headers[DLQ_HEADERS.sourcePartition]).toMatch(/^\d+$/);
    expect(letter?.headers[DLQ_HEADERS.sourceOffset]).toMatch(/^\d+$/);
    expect(probe.calls.get(doomed.eventId)).toBe(3);
    // The partition moved on past the dead letter, and the failed attempts left nothing behind.
    await waitUntil("the event behind the dead letter", async () => (await processed(next.eventId)) === 1);
    expect(await processed(doomed.eventId)).toBe(0);
    expect(await outboxRowsOf(db, OUT, [doomed.eventId])).toHaveLength(0);
  });

  it("sends unparseable messages straight to the dlq", async () => {
    const notJson = `not-json-${randomUUID()}`;
    const badSchema = `bad-schema-${randomUUID()}`;
    await t.producer.send([
      { topic: IN, key: notJson, value: "{ this is not json" },
      { topic: IN, key: badSchema, value: { eventId: 42 } },
    ]);
    const letters = await readTopic(`${IN}.dlq`, (ms) =>
      [notJson, badSchema].every((k) => ms.some((m) => m.key === k)),
    );
    const byKey = (k: string) => letters.find((m) => m.key === k);
    expect(byKey(notJson)?.value).toBe("{ this is not json");
    expect(byKey(notJson)?.headers[DLQ_HEADERS.error]).toContain("not JSON");
    expect(byKey(badSchema)?.headers[DLQ_HEADERS.error]).toContain("fails the schema");
    expect(byKey(badSchema)?.headers[DLQ_HEADERS.attempts]).toBe("1");
  });

  it("dead-letters a message with NUL bytes in its key, value and headers, its value byte for byte, and records it", async () => {
    const id = randomUUID();
    const key = `nul-\u0000-${id}`;
    const stored = `nul-\uFFFD-${id}`; // Postgres text holds no NUL: the key and headers keep U+FFFD
    const value = `{"eventId":"${randomUUID()}\u0000"}`; // a raw NUL inside a JSON string: not JSON
    const after = event();
    await t.producer.send([{ topic: IN, key, value, headers: { "x-junk": "a\u0000b" } }]);
    await send([after]);
    const letters = await readTopic(`${IN}.dlq`, (ms) => ms.some((m) => m.key === stored));
    const letter = letters.find((m) => m.key === stored);
    expect(letter?.value).toBe(value);
    expect(letter?.headers).toMatchObject({ "x-junk": "a\uFFFDb", [DLQ_HEADERS.consumer]: "runner-probe" });
    await waitUntil("the event sent after it", async () => (await processed(after.eventId)) === 1);
    const recorded = await db
      .select()
      .from(deadLetters)
      .where(and(eq(deadLetters.consumer, "runner-probe"), eq(deadLetters.key, stored)));
    expect(recorded).toMatchObject([{ topic: IN, attempts: 1, eventId: null }]);
  });

  it("publishes outbox events exactly in outbox order, each once", async () => {
    const outKey = `ordered-${randomUUID()}`;
    // Spread over every input partition (keys differ), so lanes emit concurrently for one output key.
    const events = Array.from({ length: 40 }, () => event({ outKey, emits: 3 }));
    await t.producer.send(events.map((e, i) => ({ topic: IN, key: `spread-${i}`, value: e })));
    const ids = events.map((e) => e.eventId);
    await waitUntil("every ordered event", async () => (await processed(...ids)) === ids.length);
    const rows = await outboxRowsOf(db, OUT, ids);
    expect(rows).toHaveLength(120);
    const out = await readTopic(OUT, (ms) => ms.filter((m) => m.key === outKey).length >= 120);
    const published = out
      .filter((m) => m.key === outKey)
      .map((m) => (jsonOf(m) as { eventId: string }).eventId);
    expect(published).toEqual(rows.map((r) => r.payload.eventId));
    await waitUntil("rows marked published", async () =>
      (await outboxRowsOf(db, OUT, ids)).every((r) => r.publishedAt !== null),
    );
  });

  it("applies a backlog in shared transactions with the outcomes of one-by-one: a failing event costs the others nothing", async () => {
    // Distinct keys over every partition; each lane is busy with its first event while the rest queue.
    // 20 ms an event: long enough that on a loaded machine the whole send has arrived meanwhile.
    const events = Array.from({ length: 48 }, (_, i) => event(i === 20 ? { failTimes: 1 } : {}));
    await t.producer.send(events.map((e) => ({ topic: IN, key: e.eventId, value: { ...e, delayMs: 20 } })));
    const ids = events.map((e) => e.eventId);
    await waitUntil("the whole backlog", async () => (await processed(...ids)) === ids.length);
    const rows = await outboxRowsOf(db, OUT, ids);
    expect(rows.map((r) => r.payload.source).sort()).toEqual([...ids].sort());
    // Events of one transaction share its start time: far fewer transactions than events.
    const transactions = await db
      .selectDistinct({ at: processedEvents.processedAt })
      .from(processedEvents)
      .where(and(eq(processedEvents.consumer, probe.def.name), inArray(processedEvents.eventId, ids)));
    expect(transactions.length).toBeLessThan(ids.length / 2);
    // The failing event's batch rolled back and its events were applied one by one.
    expect(probe.calls.get(events[20]?.eventId ?? "")).toBeGreaterThanOrEqual(2);
  });

  it("runs deferred work once per transaction; when it fails, the events run one by one and the one at fault is tried again", async () => {
    const events = Array.from({ length: 48 }, (_, i) => event(i === 20 ? { deferFailTimes: 2 } : {}));
    const runsBefore = probe.deferredRuns.length;
    await t.producer.send(events.map((e) => ({ topic: IN, key: e.eventId, value: { ...e, delayMs: 20 } })));
    const ids = events.map((e) => e.eventId);
    await waitUntil("the whole backlog", async () => (await processed(...ids)) === ids.length);
    const runs = probe.deferredRuns.slice(runsBefore);
    // Shared by the events of a transaction: fewer runs than events, some over many of them.
    expect(Math.max(...runs)).toBeGreaterThan(1);
    // The failing run's events ran alone: the faulty one failed once more there and was parked, then
    // applied by the retrier; the others were not held back.
    expect(probe.calls.get(events[20]?.eventId ?? "")).toBeGreaterThanOrEqual(3);
    const [dead] = await db.select().from(deadLetters).where(inArray(deadLetters.eventId, ids));
    expect(dead).toBeUndefined();
  });

  it("publishes its run's outbox rows past a row another run left for a topic that is gone", async () => {
    // Another run's prefix: its topics were deleted with it, so that row can never be sent.
    const [stale] = await db
      .insert(outbox)
      .values({
        topic: `gone-${randomUUID().slice(0, 8)}.${PROBE_OUT}`,
        key: "k",
        payload: { eventId: randomUUID() },
      })
      .returning({ id: outbox.id });
    try {
      const mine = event();
      await send([mine]);
      await waitUntil("the event processed", async () => (await processed(mine.eventId)) === 1);
      await waitUntil("its outbox row published", async () =>
        (await outboxRowsOf(db, OUT, [mine.eventId])).every((r) => r.publishedAt !== null),
      );
    } finally {
      if (stale) await db.delete(outbox).where(eq(outbox.id, stale.id));
    }
  });
});
