import { randomUUID } from "node:crypto";
import { Admin } from "@platformatic/kafka";
import { afterAll, describe, expect, it } from "vitest";
import { createKafkaProducer, kafkaClientOptions } from "../runtime/kafka.ts";
import { useConsumerTest } from "../test-support/consumer-run.ts";
import { brokers } from "../test-support/kafka.ts";
import { readConsumerLag } from "./kafka-lag.ts";

const t = useConsumerTest({ topics: ["lagging"] });
const TOPIC = `${t.topicPrefix}lagging`;
const admin = new Admin({ ...kafkaClientOptions(brokers()), clientId: `lag-test-${randomUUID()}` });
afterAll(() => admin.close());

describe("readConsumerLag", () => {
  it("counts a partition the group never committed from its start, and a committed one from its offset", async () => {
    const groupId = `lag-test${t.groupSuffix}`;
    // Five messages on partition 1, two on partition 3, none elsewhere.
    const on = (partition: number, n: number) =>
      Array.from({ length: n }, (_, i) => ({ topic: TOPIC, partition, value: Buffer.from(`m${i}`) }));
    const producer = createKafkaProducer(brokers(), `lag-test-${randomUUID()}`);
    await producer.send({ messages: [...on(1, 5), ...on(3, 2)] });
    await producer.close();

    const lagOf = async () =>
      Object.fromEntries(
        (await readConsumerLag(admin, [{ groupId, topics: [TOPIC] }])).map((r) => [r.partition, r.lag]),
      );
    expect(await lagOf()).toEqual({ 0: 0, 1: 5, 2: 0, 3: 2 });

    await admin.alterConsumerGroupOffsets({
      groupId,
      topics: [{ name: TOPIC, partitionOffsets: [{ partition: 1, offset: 4n }] }],
    });
    expect(await lagOf()).toEqual({ 0: 0, 1: 1, 2: 0, 3: 2 });
  });

  it("answers nothing for no group", async () => {
    expect(await readConsumerLag(admin, [])).toEqual([]);
  });
});
