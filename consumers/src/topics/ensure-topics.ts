import { Admin, ConfigResourceTypes, findErrorBy } from "@platformatic/kafka";
import type { KafkaSecurity } from "../../../services/kafka-client/security.ts";

/**
 * How durable a topic is: each partition on `replicationFactor` brokers, a write acknowledged
 * (acks=all, as every producer of the system asks) only once `minInsyncReplicas` of them have it,
 * and no out-of-sync replica ever elected leader (which would drop acknowledged writes). Production:
 * 3 and 2; a single local broker: 1 and 1.
 */
export interface Durability {
  replicationFactor: number;
  minInsyncReplicas: number;
}

export interface EnsureTopicsOptions extends Partial<Durability> {
  partitions: number;
  /** A managed cluster's SASL login and TLS. */
  security?: KafkaSecurity;
}

/** An existing topic that is less durable than asked for (creating it is not this tool's to redo). */
export interface BelowDurability {
  topic: string;
  replicationFactor: number;
  minInsyncReplicas: number | undefined;
  uncleanLeaderElection: boolean | undefined;
}

export interface EnsuredTopics {
  created: string[];
  belowDurability: BelowDurability[];
}

/** The topic-level settings every topic of the system is created with. */
export const durabilityConfigs = (d: Durability) => [
  { name: "min.insync.replicas", value: String(d.minInsyncReplicas) },
  { name: "unclean.leader.election.enable", value: "false" },
];

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

/** The durability the existing `topics` have: replicas per partition, and their topic settings. */
async function durabilityOf(admin: Admin, topics: string[]): Promise<BelowDurability[]> {
  if (topics.length === 0) return [];
  const metadata = await admin.metadata({ topics, forceUpdate: true });
  const described = await admin.describeConfigs({
    resources: topics.map((topic) => ({
      resourceType: ConfigResourceTypes.TOPIC,
      resourceName: topic,
      configurationKeys: ["min.insync.replicas", "unclean.leader.election.enable"],
    })),
  });
  return topics.map((topic) => {
    const configs = described.find((r) => r.resourceName === topic)?.configs ?? [];
    const value = (name: string) => configs.find((c) => c.name === name)?.value ?? undefined;
    const partitions = metadata.topics.get(topic)?.partitions ?? [];
    const minIsr = value("min.insync.replicas");
    const unclean = value("unclean.leader.election.enable");
    return {
      topic,
      replicationFactor: Math.min(...partitions.map((p) => p.replicas.length)),
      minInsyncReplicas: minIsr === undefined ? undefined : Number(minIsr),
      uncleanLeaderElection: unclean === undefined ? undefined : unclean === "true",
    };
  });
}

/**
 * Creates the topics that do not exist yet, with the durability asked for (default: one local
 * broker's, 1 and 1); existing ones are left as they are (their partition count and settings are not
 * changed), and those less durable than asked for are answered, so the caller can say so. Safe to run
 * concurrently from several processes.
 */
export async function ensureTopics(
  brokers: string[],
  topics: string[],
  opts: EnsureTopicsOptions,
): Promise<EnsuredTopics> {
  const durability: Durability = {
    replicationFactor: opts.replicationFactor ?? 1,
    minInsyncReplicas: opts.minInsyncReplicas ?? 1,
  };
  const admin = new Admin({
    ...opts.security,
    clientId: "storefront-topics",
    bootstrapBrokers: brokers,
    retries: 2,
    retryDelay: 250,
  });
  try {
    const existing = new Set(await admin.listTopics());
    const wanted = [...new Set(topics)];
    const missing = wanted.filter((t) => !existing.has(t));
    const created = await Promise.all(
      missing.map(async (topic) => {
        try {
          await admin.createTopics({
            topics: [topic],
            partitions: opts.partitions,
            replicas: durability.replicationFactor,
            configs: durabilityConfigs(durability),
          });
          return topic;
        } catch (err) {
          // Someone else created it between the listing and now.
          if (err instanceof Error && findErrorBy(err, "apiId", "TOPIC_ALREADY_EXISTS")) return null;
          throw new Error(`could not create Kafka topic "${topic}"`, { cause: err });
        }
      }),
    );
    if (missing.length > 0) await waitForLeaders(admin, missing);
    const others = wanted.filter((t) => existing.has(t));
    const belowDurability = (await durabilityOf(admin, others)).filter(
      (t) =>
        t.replicationFactor < durability.replicationFactor ||
        (t.minInsyncReplicas ?? 1) < durability.minInsyncReplicas ||
        t.uncleanLeaderElection === true,
    );
    return { created: created.filter((t): t is string => t !== null), belowDurability };
  } finally {
    await admin.close();
  }
}
