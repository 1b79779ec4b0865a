import { z } from "zod";
import { prefixedTopics } from "../../../domain/topics.ts";
import {
  checkKafkaSecurity,
  KafkaConnectionShape,
  kafkaSecurity,
} from "../../../services/kafka-client/security.ts";
import { SettingsSchema } from "../config.ts";
import { ensureTopics } from "./ensure-topics.ts";

/**
 * `npm run topics`: creates every topic of the system (and its `.dlq` twin) that does not exist yet,
 * with the partitions and durability of the settings: KAFKA_PARTITIONS (12), KAFKA_REPLICATION_FACTOR
 * (3), KAFKA_MIN_INSYNC_REPLICAS (2), and unclean leader election off. Existing topics are left as
 * they are; one less durable than asked for is named, and the exit code is 3. Exit code 2 on a
 * settings problem. Reads KAFKA_BROKERS (and a managed cluster's KAFKA_SASL_* and KAFKA_TLS*) and
 * KAFKA_TOPIC_PREFIX too.
 */
const TopicsSettingsSchema = SettingsSchema.pick({ KAFKA_TOPIC_PREFIX: true })
  .extend({
    ...KafkaConnectionShape,
    KAFKA_PARTITIONS: z.coerce.number().int().min(1).max(10_000).default(12),
    KAFKA_REPLICATION_FACTOR: z.coerce.number().int().min(1).max(32).default(3),
    KAFKA_MIN_INSYNC_REPLICAS: z.coerce.number().int().min(1).max(32).default(2),
  })
  .superRefine(checkKafkaSecurity);

const main = async (): Promise<number> => {
  const parsed = TopicsSettingsSchema.safeParse(process.env);
  if (!parsed.success) {
    process.stderr.write(`${z.prettifyError(parsed.error)}\n`);
    return 2;
  }
  const s = parsed.data;
  if (s.KAFKA_MIN_INSYNC_REPLICAS > s.KAFKA_REPLICATION_FACTOR) {
    process.stderr.write("KAFKA_MIN_INSYNC_REPLICAS must not exceed KAFKA_REPLICATION_FACTOR\n");
    return 2;
  }
  const topics = prefixedTopics(s.KAFKA_TOPIC_PREFIX);
  const { created, belowDurability } = await ensureTopics(s.KAFKA_BROKERS, topics, {
    partitions: s.KAFKA_PARTITIONS,
    replicationFactor: s.KAFKA_REPLICATION_FACTOR,
    minInsyncReplicas: s.KAFKA_MIN_INSYNC_REPLICAS,
    security: kafkaSecurity(s),
  });
  for (const topic of created) process.stdout.write(`created ${topic}\n`);
  process.stdout.write(
    `${topics.length} topics, ${created.length} created (replication ${s.KAFKA_REPLICATION_FACTOR}, min.insync.replicas ${s.KAFKA_MIN_INSYNC_REPLICAS})\n`,
  );
  for (const t of belowDurability) {
    process.stderr.write(
      `below the asked durability: ${t.topic} (replication ${t.replicationFactor}, min.insync.replicas ${t.minInsyncReplicas ?? "default"}, unclean leader election ${t.uncleanLeaderElection ?? "default"})\n`,
    );
  }
  return belowDurability.length > 0 ? 3 : 0;
};

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(
      `topics failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  },
);
