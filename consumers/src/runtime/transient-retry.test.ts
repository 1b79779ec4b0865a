import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
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

/** Transient failures (a slow or flaky remote service) against the real broker and Postgres. */
const probe = createProbeConsumer("transient-probe");
const t = useConsumerTest({
  topics: [PROBE_IN, PROBE_OUT],
  def: probe.def,
  options: {
    // Two tries for an ordinary failure; transient ones get a time budget instead.
    retry: { maxAttempts: 2, initialMs: 20, maxMs: 50 },
    transientRetry: { initialMs: 20, maxMs: 100, maxElapsedMs: 1_500 },
  },
});
const IN = `${t.topicPrefix}${PROBE_IN}`;
const send = (events: ProbeEvent[]) =>
  t.producer.send(events.map((e) => ({ topic: IN, key: e.eventId, value: e })));
const event = (extra: Partial<ProbeEvent> = {}): ProbeEvent => ({ eventId: randomUUID(), ...extra });
const deadLetterOf = async (eventId: string) => {
  const read = await readTopic(`${IN}.dlq`, (ms) => ms.some((m) => m.value.includes(eventId)));
  return read.find((m) => m.value.includes(eventId));
};

describe("transient failures", () => {
  it("are retried past maxAttempts, within the time budget, and the event is applied once", async () => {
    const flaky = event({ transientFailTimes: 6 });
    await send([flaky]);
    await waitUntil(
      "the flaky event applied",
      async () => (await countProcessed(t.db, probe.def.name, [flaky.eventId])) === 1,
    );
    expect(probe.calls.get(flaky.eventId)).toBe(7);
  });

  it("go to the dead letters once the budget is spent, counted, with the error", async () => {
    const before = t.runner.counts()["dead-lettered"];
    const hung = event({ transientFailTimes: 1_000_000 });
    const started = Date.now();
    await send([hung]);
    const letter = await deadLetterOf(hung.eventId);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_500);
    expect(letter?.headers[DLQ_HEADERS.error]).toContain("probe timeout");
    expect(Number(letter?.headers[DLQ_HEADERS.attempts])).toBeGreaterThan(2);
    await waitUntil("the dead letter counted", async () => t.runner.counts()["dead-lettered"] === before + 1);
    expect(await countProcessed(t.db, probe.def.name, [hung.eventId])).toBe(0);
  });

  it("a refused request (transient: false) goes to the dead letters at the first failure", async () => {
    const refused = event({ refused: true });
    await send([refused]);
    const letter = await deadLetterOf(refused.eventId);
    expect(letter?.headers[DLQ_HEADERS.attempts]).toBe("1");
    expect(probe.calls.get(refused.eventId)).toBe(1);
  });
});
