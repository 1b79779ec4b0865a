import { randomUUID } from "node:crypto";
import { Admin, ConfigResourceTypes, IncrementalAlterConfigOperationTypes } from "@platformatic/kafka";
import { eq, inArray } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { outbox } from "../../../db/schema/index.ts";
import { replayParked } from "../dlq/parked.ts";
import { connectTestDb } from "../test-support/handler-harness.ts";
import { brokers, isolation, readTopic, testLog, waitUntil } from "../test-support/kafka.ts";
import { ensureTopics } from "../topics/ensure-topics.ts";
import { createKafkaProducer } from "./kafka.ts";
import { createOutboxRelay, type OutboxRelay } from "./outbox-relay.ts";

/**
 * Outbox rows Kafka refuses, against the real broker: one for a topic that does not exist, one too
 * large for its topic (whose limit this test sets low). Each is tried a few times, then parked; the
 * rows after it with the same topic and key wait for it; every other row is published meanwhile; an
 * operator fixes the cause and replays them, and they go out in order.
 */
const { db, pool } = connectTestDb(4);
const { topicPrefix } = isolation();
const OUT = `${topicPrefix}out`;
const MISSING = `${topicPrefix}not-yet`;
const producer = createKafkaProducer(brokers(), `outbox-relay-test-${randomUUID()}`);
const admin = new Admin({ clientId: `outbox-relay-test-${randomUUID()}`, bootstrapBrokers: brokers() });
let relay: OutboxRelay;

beforeAll(async () => {
  await admin.createTopics({
    topics: [OUT],
    partitions: 2,
    replicas: 1,
    configs: [{ name: "max.message.bytes", value: "2000" }],
  });
  relay = createOutboxRelay({
    db,
    producer,
    log: testLog,
    topicPrefix,
    intervalMs: 100,
    retry: { initialMs: 20, maxMs: 50, maxAttempts: 3 },
  });
});
afterAll(async () => {
  await relay.stop();
  await db.delete(outbox).where(inArray(outbox.topic, [OUT, MISSING]));
  await producer.close();
  await admin.deleteTopics({ topics: [OUT, MISSING] }).catch(() => undefined);
  await admin.close();
  await pool.end();
});

const row = (topic: string, key: string, extra: Record<string, unknown> = {}) => ({
  topic,
  key,
  payload: { eventId: randomUUID(), ...extra },
});
const stateOf = async (ids: number[]) =>
  db
    .select({
      id: outbox.id,
      publishedAt: outbox.publishedAt,
      parkedAt: outbox.parkedAt,
      attempts: outbox.attempts,
    })
    .from(outbox)
    .where(inArray(outbox.id, ids))
    .orderBy(outbox.id);

describe("outbox rows Kafka refuses", () => {
  it("are parked after their tries, hold back only the later rows of their topic and key, and go out in order once replayed", async () => {
    const inserted = await db
      .insert(outbox)
      .values([
        row(MISSING, "k-missing"),
        row(OUT, "k-big", { filler: "x".repeat(4_000) }),
        row(OUT, "k-big", { after: "big" }),
        row(OUT, "k-other"),
        row(MISSING, "k-missing", { after: "missing" }),
        row(OUT, "k-other"),
      ])
      .returning({ id: outbox.id });
    const [missing, big, afterBig, other1, afterMissing, other2] = inserted.map((r) => r.id) as number[];
    relay.kick();
    await waitUntil("both refused rows parked", async () =>
      (await stateOf([missing ?? 0, big ?? 0])).every((r) => r.parkedAt !== null),
    );
    const states = new Map((await stateOf(inserted.map((r) => r.id))).map((r) => [r.id, r]));
    expect(states.get(missing ?? 0)?.attempts).toBe(3);
    expect(states.get(big ?? 0)?.attempts).toBe(3);
    // Waiting behind them, untried; the others published.
    for (const id of [afterBig, afterMissing])
      expect(states.get(id ?? 0)).toMatchObject({ publishedAt: null, parkedAt: null, attempts: 0 });
    for (const id of [other1, other2]) expect(states.get(id ?? 0)?.publishedAt).not.toBeNull();
    const [lastError] = await db
      .select({ e: outbox.lastError })
      .from(outbox)
      .where(eq(outbox.id, big ?? 0));
    expect(lastError?.e).toContain("MESSAGE_TOO_LARGE");

    // The operator creates the topic, raises the limit, and replays: everything goes, in order.
    await ensureTopics(brokers(), [MISSING], { partitions: 1 });
    await admin.incrementalAlterConfigs({
      resources: [
        {
          resourceType: ConfigResourceTypes.TOPIC,
          resourceName: OUT,
          configs: [
            {
              name: "max.message.bytes",
              configOperation: IncrementalAlterConfigOperationTypes.SET,
              value: "100000",
            },
          ],
        },
      ],
    });
    expect(await replayParked(db, "outbox", { prefix: topicPrefix })).toBe(2);
    relay.kick();
    await waitUntil("every row published", async () =>
      (await stateOf(inserted.map((r) => r.id))).every((r) => r.publishedAt !== null),
    );
    const bigKey = await readTopic(OUT, (ms) => ms.filter((m) => m.key === "k-big").length >= 2);
    expect(bigKey.filter((m) => m.key === "k-big").map((m) => m.value.includes("after"))).toEqual([
      false,
      true,
    ]);
  });
});
