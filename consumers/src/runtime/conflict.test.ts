import { randomUUID } from "node:crypto";
import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { partitionForKey } from "../../../services/kafka-rest/src/kafka.ts";
import { useConsumerTest } from "../test-support/consumer-run.ts";
import { waitUntil } from "../test-support/kafka.ts";
import { countProcessed } from "../test-support/probe-consumer.ts";
import { isConflict } from "./failures.ts";
import { type ConsumerDefinition, subscribe } from "./types.ts";

/**
 * Two lanes (partitions) whose transactions take the same locks in opposite orders deadlock;
 * Postgres aborts one of them. That transaction runs again at once: no event is blamed, none is
 * parked, and both are applied.
 */
const TOPIC = "deadlock-probe.in";
const EventSchema = z.object({ eventId: z.string(), locks: z.array(z.string()), pauseS: z.number() });
type LockEvent = z.infer<typeof EventSchema>;
const calls = new Map<string, number>();
const def: ConsumerDefinition = {
  name: "deadlock-probe",
  subscriptions: [
    subscribe(TOPIC, EventSchema, async (event, ctx) => {
      calls.set(event.eventId, (calls.get(event.eventId) ?? 0) + 1);
      const [first, ...rest] = event.locks;
      await ctx.tx.execute(sql`select pg_advisory_xact_lock(hashtext(${first}))`);
      await ctx.tx.execute(sql`select pg_sleep(${event.pauseS})`);
      for (const lock of rest) await ctx.tx.execute(sql`select pg_advisory_xact_lock(hashtext(${lock}))`);
    }),
  ],
};
const t = useConsumerTest({ topics: [TOPIC], def, partitions: 2 });

/** A key the producer puts on `partition` of a two-partition topic. */
const keyOn = (partition: number): string => {
  for (;;) {
    const key = randomUUID();
    if (partitionForKey(Buffer.from(key), 2) === partition) return key;
  }
};

describe("transactions that deadlock", () => {
  it("are recognised by their SQLSTATE", () => {
    expect(isConflict(Object.assign(new Error("deadlock detected"), { code: "40P01" }))).toBe(true);
    expect(isConflict(new Error("x", { cause: Object.assign(new Error("s"), { code: "40001" }) }))).toBe(
      true,
    );
    expect(isConflict(Object.assign(new Error("unique"), { code: "23505" }))).toBe(false);
  });

  it("run again at once: both events applied, none parked", async () => {
    const [a, b] = [`lock-a-${randomUUID()}`, `lock-b-${randomUUID()}`];
    const one: LockEvent = { eventId: randomUUID(), locks: [a, b], pauseS: 0.5 };
    const two: LockEvent = { eventId: randomUUID(), locks: [b, a], pauseS: 0.5 };
    const parkedBefore = t.runner.counts().parked;
    await t.producer.send([
      { topic: `${t.topicPrefix}${TOPIC}`, key: keyOn(0), value: one },
      { topic: `${t.topicPrefix}${TOPIC}`, key: keyOn(1), value: two },
    ]);
    await waitUntil(
      "both events applied",
      async () => (await countProcessed(t.db, def.name, [one.eventId, two.eventId])) === 2,
      30_000,
    );
    // One of the two lost the deadlock and ran again; neither was parked for it.
    expect((calls.get(one.eventId) ?? 0) + (calls.get(two.eventId) ?? 0)).toBeGreaterThanOrEqual(3);
    expect(t.runner.counts().parked).toBe(parkedBefore);
  });
});
