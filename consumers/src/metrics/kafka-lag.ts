import type { Admin } from "@platformatic/kafka";

/** A consumer group and the topics it reads. */
export interface GroupTopics {
  groupId: string;
  topics: string[];
}

/** Messages of one partition the group has not committed yet. */
export interface PartitionLag {
  groupId: string;
  topic: string;
  partition: number;
  lag: number;
}

const slot = (topic: string, partition: number): string => `${topic}:${partition}`;

/**
 * Lag of each group on each partition of its topics: the partition's end offset minus the group's
 * committed offset. A partition the group has never committed counts everything still in it (from
 * its earliest offset): a group that never got going must not look idle. Four admin requests at most,
 * whatever the number of groups and partitions.
 */
export const readConsumerLag = async (admin: Admin, groups: GroupTopics[]): Promise<PartitionLag[]> => {
  const topics = [...new Set(groups.flatMap((g) => g.topics))];
  if (topics.length === 0) return [];
  const metadata = await admin.metadata({ topics });
  const partitionsOf = (topic: string): number[] =>
    Array.from({ length: metadata.topics.get(topic)?.partitionsCount ?? 0 }, (_, i) => i);
  const offsetsAt = async (timestamp: bigint, wanted: string[]): Promise<Map<string, bigint>> => {
    if (wanted.length === 0) return new Map();
    const listed = await admin.listOffsets({
      topics: wanted.map((name) => ({
        name,
        partitions: partitionsOf(name).map((partitionIndex) => ({ partitionIndex, timestamp })),
      })),
    });
    return new Map(
      listed.flatMap((t) => t.partitions.map((p) => [slot(t.name, p.partitionIndex), p.offset])),
    );
  };
  const [ends, committed] = await Promise.all([
    offsetsAt(-1n, topics),
    admin.listConsumerGroupOffsets({
      groups: groups.map((g) => ({
        groupId: g.groupId,
        topics: g.topics.map((name) => ({ name, partitionIndexes: partitionsOf(name) })),
      })),
    }),
  ]);
  const rows = committed.flatMap((group) =>
    group.topics.flatMap((topic) =>
      topic.partitions.map((p) => ({
        groupId: group.groupId,
        topic: topic.name,
        partition: p.partitionIndex,
        committed: p.committedOffset,
      })),
    ),
  );
  const uncommitted = [...new Set(rows.filter((r) => r.committed < 0n).map((r) => r.topic))];
  const starts = await offsetsAt(-2n, uncommitted);
  return rows.map(({ committed: offset, ...row }) => {
    const end = ends.get(slot(row.topic, row.partition)) ?? 0n;
    const from = offset >= 0n ? offset : (starts.get(slot(row.topic, row.partition)) ?? end);
    return { ...row, lag: Number(end > from ? end - from : 0n) };
  });
};
