import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { useConsumerTest } from "../test-support/consumer-run.ts";
import { brokers, waitUntil } from "../test-support/kafka.ts";
import {
  countProcessed,
  createProbeConsumer,
  PROBE_IN,
  PROBE_OUT,
  type ProbeEvent,
} from "../test-support/probe-consumer.ts";
import { listDeadLetters } from "./dead-letters.ts";

/** `npm run dlq -- list|replay` against the real broker: what the runner dead-lettered, replayed. */
const probe = createProbeConsumer("dlq-probe");
const t = useConsumerTest({
  topics: [PROBE_IN, PROBE_OUT],
  def: probe.def,
  options: { retry: { maxAttempts: 2, initialMs: 20, maxMs: 50 } },
});
const IN = `${t.topicPrefix}${PROBE_IN}`;

const dlq = async (...args: string[]): Promise<string> => {
  const { stdout } = await promisify(execFile)(process.execPath, ["consumers/src/dlq/cli.ts", ...args], {
    env: { ...process.env, KAFKA_BROKERS: brokers().join(",") },
    timeout: 60_000,
  });
  return stdout;
};

describe("dead-letter command", () => {
  it("lists dead letters with their error headers, and replays one to its topic exactly once", async () => {
    // Fails its two tries (dead-lettered), succeeds on the third call: the replay.
    const failing: ProbeEvent = { eventId: randomUUID(), failTimes: 2 };
    const other: ProbeEvent = { eventId: randomUUID(), failTimes: 1_000 };
    await t.producer.send(
      [failing, other].map((e) => ({
        topic: IN,
        key: e.eventId,
        value: e,
        headers: { "trace-id": e.eventId },
      })),
    );
    await waitUntil("both events dead-lettered", async () => t.runner.counts()["dead-lettered"] === 2);

    const listed = await dlq("list", "--topic", IN);
    expect(listed).toContain("2 dead letter(s)");
    expect(listed).toContain(`event ${failing.eventId}`);
    expect(listed).toContain(`x-dlq-error: Error: probe failure 2 of ${failing.eventId}`);
    expect(listed).toContain("x-dlq-consumer: dlq-probe");
    expect(listed).toContain("x-dlq-attempts: 2");
    expect(await dlq("list", "--topic", IN, "--consumer", "someone-else")).toContain("0 dead letter(s)");

    const replayed = await dlq("replay", "--topic", IN, "--event-id", failing.eventId);
    expect(replayed).toContain("1 dead letter(s) replayed");
    await waitUntil(
      "the replayed event applied",
      async () => (await countProcessed(t.db, probe.def.name, [failing.eventId])) === 1,
    );
    expect(probe.calls.get(failing.eventId)).toBe(3);

    // Replayed again: a duplicate event id, so nothing happens and nothing is dead-lettered.
    const duplicates = t.runner.counts().duplicate;
    await dlq("replay", "--topic", IN, "--event-id", failing.eventId);
    await waitUntil(
      "the second replay seen as a duplicate",
      async () => t.runner.counts().duplicate === duplicates + 1,
    );
    expect(probe.calls.get(failing.eventId)).toBe(3);
    expect(t.runner.counts()["dead-lettered"]).toBe(2);

    // The original key and headers went back with the value, without the dead-letter headers.
    const [letter] = await listDeadLetters(brokers(), { topic: IN, eventId: failing.eventId });
    expect(letter?.key?.toString()).toBe(failing.eventId);
    expect(letter?.headers.map(([k, v]) => [k.toString(), v.toString()])).toEqual([
      ["trace-id", failing.eventId],
    ]);
    expect(letter?.sourceTopic).toBe(IN);
  });
});
