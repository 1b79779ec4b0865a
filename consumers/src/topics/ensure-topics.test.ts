import { randomUUID } from "node:crypto";
import { Admin, ConfigResourceTypes } from "@platformatic/kafka";
import { afterAll, describe, expect, it } from "vitest";
import { deleteRunTopics } from "../../../local/kafka/run-topics.ts";
import { brokers, isolation } from "../test-support/kafka.ts";
import { ensureTopics } from "./ensure-topics.ts";

/** Topic creation against the test stack's single broker, which is all it can prove durability on. */
const { topicPrefix } = isolation();
const admin = new Admin({ clientId: `topics-test-${randomUUID()}`, bootstrapBrokers: brokers() });
afterAll(async () => {
  await admin.close();
  await deleteRunTopics(brokers(), topicPrefix);
});

const settingsOf = async (topic: string) => {
  const [described] = await admin.describeConfigs({
    resources: [
      {
        resourceType: ConfigResourceTypes.TOPIC,
        resourceName: topic,
        configurationKeys: ["min.insync.replicas", "unclean.leader.election.enable"],
      },
    ],
  });
  return Object.fromEntries((described?.configs ?? []).map((c) => [c.name, c.value]));
};

describe("ensureTopics", () => {
  it("creates missing topics with min.insync.replicas and unclean leader election off, once", async () => {
    const topic = `${topicPrefix}durable`;
    const first = await ensureTopics(brokers(), [topic], {
      partitions: 2,
      replicationFactor: 1,
      minInsyncReplicas: 1,
    });
    expect(first).toEqual({ created: [topic], belowDurability: [] });
    expect(await settingsOf(topic)).toEqual({
      "min.insync.replicas": "1",
      "unclean.leader.election.enable": "false",
    });
    expect(await ensureTopics(brokers(), [topic], { partitions: 2 })).toEqual({
      created: [],
      belowDurability: [],
    });
  });

  it("names an existing topic less durable than asked for, and leaves it as it is", async () => {
    const topic = `${topicPrefix}weak`;
    await admin.createTopics({ topics: [topic], partitions: 1, replicas: 1 });
    const { belowDurability } = await ensureTopics(brokers(), [topic], {
      partitions: 1,
      replicationFactor: 1,
      minInsyncReplicas: 2,
    });
    expect(belowDurability).toEqual([
      { topic, replicationFactor: 1, minInsyncReplicas: 1, uncleanLeaderElection: false },
    ]);
  });

  it("fails clearly when the cluster has fewer brokers than the replication asked for", async () => {
    await expect(
      ensureTopics(brokers(), [`${topicPrefix}three`], {
        partitions: 1,
        replicationFactor: 3,
        minInsyncReplicas: 2,
      }),
    ).rejects.toThrow(/could not create Kafka topic/);
  });
});
