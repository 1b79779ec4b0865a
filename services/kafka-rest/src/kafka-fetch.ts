import { type BaseOptions, Consumer, type FetchOptions, type RecordsBatch } from "@platformatic/kafka";
import { RestError } from "./errors.ts";
import type { FetchedRecord } from "./kafka.ts";
import type { TopicPartitionOffset } from "./schemas.ts";

type FetchRequestTopic = FetchOptions<Buffer, Buffer, Buffer, Buffer>["topics"][number];

const OFFSET_OUT_OF_RANGE = 1;
const CONTROL_BATCH = 0x20;
const MAX_BYTES = 4 * 1024 * 1024;

function decode(topic: string, partition: number, from: bigint, batches: RecordsBatch[]): FetchedRecord[] {
  const out: FetchedRecord[] = [];
  for (const batch of batches) {
    if ((batch.attributes & CONTROL_BATCH) !== 0) continue;
    for (const record of batch.records) {
      const offset = batch.firstOffset + BigInt(record.offsetDelta);
      if (offset < from) continue; // a batch can start before the offset asked for
      out.push({
        topic,
        partition,
        offset: Number(offset),
        timestamp: Number(batch.firstTimestamp + record.timestampDelta),
        key: record.key?.toString() ?? "",
        value: record.value?.toString() ?? "",
        headers: record.headers.map(([k, v]) => ({ key: k?.toString() ?? "", value: v?.toString() ?? "" })),
      });
    }
  }
  return out;
}

/**
 * Reads from explicit offsets without a consumer group (what `/fetch` means in the Upstash dialect).
 * A short-lived client per request keeps Kafka fetch sessions out of shared state; `/fetch` is for
 * tools and tests, the project's consumers read Kafka natively.
 */
export async function fetchRecords(
  options: Omit<BaseOptions, "clientId"> & { clientId: string },
  targets: TopicPartitionOffset[],
  maxWaitMs: number,
): Promise<FetchedRecord[]> {
  const consumer = new Consumer({ ...options, groupId: options.clientId });
  try {
    const topics = [...new Set(targets.map((t) => t.topic))];
    let metadata: Awaited<ReturnType<typeof consumer.metadata>>;
    try {
      metadata = await consumer.metadata({ topics });
    } catch (err) {
      if (err instanceof Error && err.message.startsWith("Unknown topic")) {
        throw new RestError(
          404,
          "topic_not_found",
          err.message.replace(/^Unknown topic (.*)\.$/, 'topic "$1" does not exist'),
          {
            cause: err,
          },
        );
      }
      throw err;
    }
    const byLeader = new Map<number, TopicPartitionOffset[]>();
    const names = new Map<string, string>();
    for (const t of targets) {
      const topic = metadata.topics.get(t.topic);
      const leader = topic?.partitions[t.partition]?.leader;
      if (!topic || leader === undefined) {
        throw new RestError(
          404,
          "partition_not_found",
          `partition ${t.partition} of topic "${t.topic}" does not exist`,
        );
      }
      names.set(topic.id, t.topic);
      byLeader.set(leader, [...(byLeader.get(leader) ?? []), t]);
    }
    const results = await Promise.all(
      [...byLeader].map(async ([node, list]) => {
        const request: FetchRequestTopic[] = [];
        for (const t of list) {
          const topicId = metadata.topics.get(t.topic)?.id ?? t.topic;
          let entry = request.find((r) => r.topicId === topicId);
          if (!entry) {
            entry = { topicId, partitions: [] };
            request.push(entry);
          }
          entry.partitions.push({
            partition: t.partition,
            fetchOffset: BigInt(t.offset),
            currentLeaderEpoch: -1,
            lastFetchedEpoch: -1,
            partitionMaxBytes: MAX_BYTES,
          });
        }
        const response = await consumer.fetch({
          node,
          topics: request,
          maxWaitTime: maxWaitMs,
          minBytes: 1,
          maxBytes: MAX_BYTES,
        });
        return response.responses.flatMap((r) =>
          r.partitions.flatMap((p) => {
            const topic = names.get(r.topicId) ?? r.topicId;
            if (p.errorCode === OFFSET_OUT_OF_RANGE) return [];
            const from = list.find((t) => t.topic === topic && t.partition === p.partitionIndex)?.offset ?? 0;
            return decode(topic, p.partitionIndex, BigInt(from), p.records ?? []);
          }),
        );
      }),
    );
    return results.flat();
  } finally {
    await consumer.close().catch(() => undefined);
  }
}
