import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { useConsumerTest } from "../test-support/consumer-run.ts";
import { waitUntil } from "../test-support/kafka.ts";
import { createProbeConsumer, outboxRowsOf, PROBE_IN, PROBE_OUT } from "../test-support/probe-consumer.ts";

/**
 * Two runs on one broker (say `npm run dev` and `npm test`): the same consumer, the same group
 * suffix, each with its own topic prefix. Each reads and emits only on its own topics, in its own
 * consumer group.
 */
const runA = createProbeConsumer("prefix-probe");
const runB = createProbeConsumer("prefix-probe");
const shared = { groupSuffix: "-shared" };
const a = useConsumerTest({ topics: [PROBE_IN, PROBE_OUT], def: runA.def, options: shared });
const b = useConsumerTest({ topics: [PROBE_IN, PROBE_OUT], def: runB.def, options: shared });

describe("topic prefixes", () => {
  it("keeps two runs' events, emits and consumer groups apart", async () => {
    expect(a.runner.groupId).toBe(`${a.topicPrefix}prefix-probe-shared`);
    expect(b.runner.groupId).not.toBe(a.runner.groupId);
    const ofB = { eventId: `b-${randomUUID()}` };
    const ofA = { eventId: `a-${randomUUID()}` };
    // B's event first: had run A been reading B's topic, it would have met it before its own.
    await b.producer.send([{ topic: `${b.topicPrefix}${PROBE_IN}`, key: ofB.eventId, value: ofB }]);
    await a.producer.send([{ topic: `${a.topicPrefix}${PROBE_IN}`, key: ofA.eventId, value: ofA }]);
    await waitUntil("each run handled its own event", async () =>
      Boolean(runA.calls.get(ofA.eventId) && runB.calls.get(ofB.eventId)),
    );
    expect([...runA.calls.keys()]).toEqual([ofA.eventId]);
    expect([...runB.calls.keys()]).toEqual([ofB.eventId]);
    // What each handler emitted goes to its own run's topic.
    expect(await outboxRowsOf(a.db, `${a.topicPrefix}${PROBE_OUT}`, [ofA.eventId])).toHaveLength(1);
    expect(await outboxRowsOf(b.db, `${b.topicPrefix}${PROBE_OUT}`, [ofB.eventId])).toHaveLength(1);
    expect(await outboxRowsOf(a.db, `${a.topicPrefix}${PROBE_OUT}`, [ofB.eventId])).toHaveLength(0);
  });
});
