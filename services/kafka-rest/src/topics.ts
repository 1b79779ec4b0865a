import { Admin, findErrorBy } from "@platformatic/kafka";

export interface EnsureTopicsOptions {
  partitions: number;
  /** Default 1 (a single local broker); production clusters usually want 3. */
  replicationFactor?: number;
}

/** A new topic is usable once every partition has a leader; until then producing to it fails. */
async function waitForLeaders(admin: Admin, topics: string[], timeoutMs = 15_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      const metadata = await admin.metadata({ topics, forceUpdate: true });
      const ready = topics.every((t) => {
        const partitions = metadata.topics.get(t)?.partitions ?? [];
        return partitions.length > 0 && partitions.every((p) => p.leader >= 0);
      });
      if (ready) return;
    } catch (err) {
      if (Date.now() > until)
        throw new Error(`topics ${topics.join(", ")} have no leader yet`, { cause: err });
    }
    if (Date.now() > until)
      throw new Error(`topics ${topics.join(", ")} have no leader after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Creates the topics that do not exist yet; existing ones are left as they are (their partition
 * count is not changed). Safe to run concurrently from several processes.
 */
export async function ensureTopics(
  brokers: string[],
  topics: string[],
  opts: EnsureTopicsOptions,
): Promise<string[]> {
  const admin = new Admin({
    clientId: "kafka-rest-topics",
    bootstrapBrokers: brokers,
    retries: 2,
    retryDelay: 250,
  });
  try {
    const existing = new Set(await admin.listTopics());
    const missing = [...new Set(topics)].filter((t) => !existing.has(t));
    if (missing.length === 0) return [];
    const replicas = opts.replicationFactor ?? 1;
    const created = await Promise.all(
      missing.map(async (topic) => {
        try {
          await admin.createTopics({ topics: [topic], partitions: opts.partitions, replicas });
          return topic;
        } catch (err) {
          // Someone else created it between the listing and now.
          if (err instanceof Error && findErrorBy(err, "apiId", "TOPIC_ALREADY_EXISTS")) return null;
          throw new Error(`could not create Kafka topic "${topic}"`, { cause: err });
        }
      }),
    );
    await waitForLeaders(admin, missing);
    return created.filter((t): t is string => t !== null);
  } finally {
    await admin.close();
  }
}
