import { randomUUID } from "node:crypto";
import { and, eq, inArray } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { parkedEvents, processedEvents } from "../../../db/schema/index.ts";
import { useConsumerTest } from "../test-support/consumer-run.ts";
import { readTopic, waitUntil } from "../test-support/kafka.ts";
import {
  countProcessed,
  createProbeConsumer,
  PROBE_IN,
  PROBE_OUT,
  type ProbeEvent,
} from "../test-support/probe-consumer.ts";
import { DLQ_HEADERS } from "./dead-letter.ts";

/**
 * Parked events against the real broker and Postgres, on ONE partition, so every event shares the
 * lane of the one that fails: it leaves the lane for parked_events, the lane goes on, the events of
 * its key wait behind it, and the retrier applies them in order once it succeeds.
 */
const probe = createProbeConsumer("parked-probe");
const t = useConsumerTest({
  topics: [PROBE_IN, PROBE_OUT],
  def: probe.def,
  partitions: 1,
  poolMax: 8,
  options: {
    retry: { maxAttempts: 3, initialMs: 20, maxMs: 50 },
    transientRetry: { initialMs: 20, maxMs: 100, maxElapsedMs: 60_000 },
    parked: { intervalMs: 100 },
  },
});
const IN = `${t.topicPrefix}${PROBE_IN}`;
const send = (events: Array<ProbeEvent & { key?: string }>) =>
  t.producer.send(events.map(({ key, ...e }) => ({ topic: IN, key: key ?? e.eventId, value: e })));
const event = (extra: Partial<ProbeEvent> = {}): ProbeEvent => ({ eventId: randomUUID(), ...extra });
const processed = (...ids: string[]) => countProcessed(t.db, probe.def.name, ids);
const parkedOf = (...ids: string[]) =>
  t.db
    .select({ eventId: parkedEvents.eventId, reason: parkedEvents.reason, attempts: parkedEvents.attempts })
    .from(parkedEvents)
    .where(and(eq(parkedEvents.consumer, probe.def.name), inArray(parkedEvents.eventId, ids)))
    .orderBy(parkedEvents.id);

describe("parked events", () => {
  it("take a failing event out of its partition: the events behind it flow, its key's events wait behind it, in order", async () => {
    const gate = `gate-${randomUUID()}`;
    probe.gates.add(gate);
    const key = `order-${randomUUID()}`;
    const stuck = { ...event({ gate }), key };
    const others = Array.from({ length: 10 }, () => event());
    await send([stuck, ...others]);
    await waitUntil(
      "the events behind the failing one",
      async () => (await processed(...others.map((e) => e.eventId))) === 10,
    );
    expect(await processed(stuck.eventId)).toBe(0);
    expect(await parkedOf(stuck.eventId)).toEqual([
      { eventId: stuck.eventId, reason: "failed", attempts: expect.any(Number) },
    ]);

    // Two more events of its key: parked behind it, not applied before it.
    const later = [
      { ...event(), key },
      { ...event(), key },
    ];
    const marker = event();
    await send([...later, marker]);
    await waitUntil("the marker behind them", async () => (await processed(marker.eventId)) === 1);
    expect(await processed(...later.map((e) => e.eventId))).toBe(0);
    expect((await parkedOf(...later.map((e) => e.eventId))).map((row) => row.reason)).toEqual([
      "behind",
      "behind",
    ]);

    probe.gates.delete(gate);
    const ofKey = [stuck, ...later].map((e) => e.eventId);
    await waitUntil("the key's events applied", async () => (await processed(...ofKey)) === 3);
    expect(probe.succeeded.filter((id) => ofKey.includes(id))).toEqual(ofKey);
    expect(await parkedOf(...ofKey)).toEqual([]);
    expect(probe.calls.get(stuck.eventId)).toBeGreaterThan(1);
  });

  it("costs a batch only its failing event: the others commit together, it is applied after", async () => {
    const events = Array.from({ length: 30 }, (_, i) => event(i === 12 ? { failTimes: 1 } : {}));
    // 15 ms an event: the backlog arrives while the lane is busy, so it is applied in batches.
    await t.producer.send(events.map((e) => ({ topic: IN, key: e.eventId, value: { ...e, delayMs: 15 } })));
    const ids = events.map((e) => e.eventId);
    await waitUntil("the whole backlog", async () => (await processed(...ids)) === ids.length);
    const failing = events[12]?.eventId ?? "";
    expect(probe.calls.get(failing)).toBe(2);
    // Applied after events that came after it in the partition: it did not hold the lane.
    const order = probe.succeeded.filter((id) => ids.includes(id));
    expect(order.indexOf(failing)).toBeGreaterThan(order.indexOf(events[13]?.eventId ?? ""));
    // The others ran at most twice (once in the transaction that rolled back), and committed in
    // far fewer transactions than events (events of one transaction share its start time).
    for (const id of ids.filter((id) => id !== failing)) expect(probe.calls.get(id)).toBeLessThanOrEqual(2);
    const transactions = await t.db
      .selectDistinct({ at: processedEvents.processedAt })
      .from(processedEvents)
      .where(and(eq(processedEvents.consumer, probe.def.name), inArray(processedEvents.eventId, ids)));
    expect(transactions.length).toBeLessThan(ids.length / 2);
  });

  it("dead-letter an event out of tries, then let its key's next event through", async () => {
    const key = `order-${randomUUID()}`;
    const doomed = { ...event({ failTimes: 1_000 }), key };
    const next = { ...event(), key };
    await send([doomed, next]);
    const letters = await readTopic(`${IN}.dlq`, (ms) => ms.some((m) => m.key === key));
    expect(letters.find((m) => m.key === key)?.headers[DLQ_HEADERS.attempts]).toBe("3");
    await waitUntil("the event behind the dead letter", async () => (await processed(next.eventId)) === 1);
    expect(probe.calls.get(doomed.eventId)).toBe(3);
    expect(probe.succeeded).toContain(next.eventId);
    expect(await parkedOf(doomed.eventId, next.eventId)).toEqual([]);
  });
});
