import { Admin } from "@platformatic/kafka";
import type { Logger } from "pino";
import type { KafkaSecurity } from "../../../services/kafka-client/security.ts";
import { kafkaClientOptions } from "./kafka.ts";

/** Where a consumer group without committed offsets starts reading. */
export type StartAt = "earliest" | "latest";

/**
 * For `latest`: commits the current end of every partition the group has no offset for yet, before
 * any member joins. The group then reads everything produced after this call and nothing before,
 * whichever replica gets which partition (a plain "latest" fallback would skip messages produced
 * while a later rebalance hands a partition to a replica that never read it). `earliest` needs
 * nothing: the stream's fallback starts such partitions at their beginning.
 */
export const seedStartOffsets = async (
  brokers: string[],
  groupId: string,
  topics: string[],
  startAt: StartAt,
  log: Logger,
  security: KafkaSecurity = {},
): Promise<void> => {
  if (startAt === "earliest") return;
  const admin = new Admin({ ...kafkaClientOptions(brokers, security), clientId: `${groupId}-start-offsets` });
  try {
    const metadata = await admin.metadata({ topics });
    const partitionsOf = (topic: string): number[] =>
      Array.from({ length: metadata.topics.get(topic)?.partitionsCount ?? 0 }, (_, i) => i);
    const [group] = await admin.listConsumerGroupOffsets({
      groups: [{ groupId, topics: topics.map((name) => ({ name, partitionIndexes: partitionsOf(name) })) }],
    });
    const committed = new Set(
      (group?.topics ?? []).flatMap((t) =>
        t.partitions.filter((p) => p.committedOffset >= 0n).map((p) => `${t.name}:${p.partitionIndex}`),
      ),
    );
    const missing = topics
      .map((name) => ({ name, partitions: partitionsOf(name).filter((p) => !committed.has(`${name}:${p}`)) }))
      .filter((t) => t.partitions.length > 0);
    if (missing.length === 0) return;
    const ends = await admin.listOffsets({
      topics: missing.map((t) => ({
        name: t.name,
        partitions: t.partitions.map((partitionIndex) => ({ partitionIndex, timestamp: -1n })),
      })),
    });
    await admin.alterConsumerGroupOffsets({
      groupId,
      topics: ends.map((t) => ({
        name: t.name,
        partitionOffsets: t.partitions.map((p) => ({ partition: p.partitionIndex, offset: p.offset })),
      })),
    });
    log.info({ topics: missing.map((t) => t.name) }, "new consumer group starts at the current end");
  } catch (error) {
    // A group that already has members has offsets or is getting them; reading from the start is safe.
    log.warn({ err: error }, "could not seed start offsets; partitions without one start at the beginning");
  } finally {
    await admin.close();
  }
};
