import { randomUUID } from "node:crypto";
import { Admin, Consumer, type Message } from "@platformatic/kafka";
import { dlqTopic } from "../../../domain/topics.ts";
import type { KafkaSecurity } from "../../../services/kafka-client/security.ts";
import { DLQ_HEADERS } from "../runtime/dead-letter.ts";
import { type KafkaProducer, kafkaClientOptions } from "../runtime/kafka.ts";

/**
 * Dead letters as they are on Kafka (`<topic>.dlq`, written by runtime/dead-letter.ts): listed from
 * the beginning of the dead-letter topics to their current end, and replayed by republishing the
 * original key, value and headers to the original topic. Every consumer deduplicates on the
 * event id, so replaying an event some consumer of the topic applied already changes nothing there.
 */

export interface DeadLetterRecord {
  dlqTopic: string;
  partition: number;
  offset: bigint;
  /** The topic the event failed on (`x-dlq-source-topic`). */
  sourceTopic: string;
  /** The consumer that gave up on it (`x-dlq-consumer`). */
  consumer: string;
  /** The event id in the value, when it is JSON with one. */
  eventId: string | undefined;
  key: Buffer | undefined;
  value: Buffer | undefined;
  /** The original message's headers (without the dead-letter ones). */
  headers: [Buffer, Buffer][];
  /** The `x-dlq-*` headers: error, attempts, consumer, source coordinates, failed-at. */
  dlq: Record<string, string>;
}

export interface DeadLetterFilter {
  /** The run's topic prefix (KAFKA_TOPIC_PREFIX): only its dead-letter topics are read. */
  prefix?: string;
  /** The original topic (`order-placed`) or its dead-letter twin (`order-placed.dlq`), without the prefix. */
  topic?: string;
  consumer?: string;
  eventId?: string;
}

const DLQ_PREFIX = "x-dlq-";
const DLQ_SUFFIX = dlqTopic("");

const eventIdOf = (value: Buffer | undefined): string | undefined => {
  try {
    const parsed: unknown = JSON.parse(value?.toString("utf8") ?? "");
    const id =
      typeof parsed === "object" && parsed !== null ? (parsed as { eventId?: unknown }).eventId : undefined;
    return typeof id === "string" ? id : undefined;
  } catch {
    return undefined; // not JSON: it went to the dead letters for that very reason
  }
};

const toRecord = (m: Message<Buffer | undefined, Buffer | undefined, Buffer, Buffer>): DeadLetterRecord => {
  const dlq: Record<string, string> = {};
  const headers: [Buffer, Buffer][] = [];
  for (const [k, v] of m.headerEntries) {
    const name = k.toString("utf8");
    if (name.startsWith(DLQ_PREFIX)) dlq[name] = v.toString("utf8");
    else headers.push([k, v]);
  }
  return {
    dlqTopic: m.topic,
    partition: m.partition,
    offset: m.offset,
    sourceTopic: dlq[DLQ_HEADERS.sourceTopic] ?? m.topic.slice(0, -DLQ_SUFFIX.length),
    consumer: dlq[DLQ_HEADERS.consumer] ?? "",
    eventId: eventIdOf(m.value),
    key: m.key,
    value: m.value,
    headers,
    dlq,
  };
};

/** The dead-letter topics to read, with the offset range of each partition holding messages. */
const rangesOf = async (
  brokers: string[],
  { prefix = "", topic }: DeadLetterFilter,
  security: KafkaSecurity,
) => {
  const admin = new Admin({
    ...kafkaClientOptions(brokers, security),
    clientId: `dlq-admin-${randomUUID()}`,
  });
  try {
    const wanted = topic ? `${prefix}${topic.endsWith(DLQ_SUFFIX) ? topic : dlqTopic(topic)}` : undefined;
    const names = (await admin.listTopics()).filter((t) =>
      wanted ? t === wanted : t.startsWith(prefix) && t.endsWith(DLQ_SUFFIX),
    );
    if (names.length === 0) return new Map<string, bigint>();
    const metadata = await admin.metadata({ topics: names });
    const request = (timestamp: bigint) => ({
      topics: names.map((name) => ({
        name,
        partitions: Array.from({ length: metadata.topics.get(name)?.partitionsCount ?? 0 }, (_, i) => ({
          partitionIndex: i,
          timestamp,
        })),
      })),
    });
    const [starts, ends] = [await admin.listOffsets(request(-2n)), await admin.listOffsets(request(-1n))];
    const start = new Map(
      starts.flatMap((t) => t.partitions.map((p) => [`${t.name}:${p.partitionIndex}`, p.offset])),
    );
    // Last offset to read per partition that holds messages.
    const last = new Map<string, bigint>();
    for (const t of ends) {
      for (const p of t.partitions) {
        const key = `${t.name}:${p.partitionIndex}`;
        if (p.offset > (start.get(key) ?? 0n)) last.set(key, p.offset - 1n);
      }
    }
    return last;
  } finally {
    await admin.close();
  }
};

/** Reads every dead letter there is now (matching `filter`), oldest first per partition. */
export const listDeadLetters = async (
  brokers: string[],
  filter: DeadLetterFilter = {},
  security: KafkaSecurity = {},
  timeoutMs = 30_000,
): Promise<DeadLetterRecord[]> => {
  const last = await rangesOf(brokers, filter, security);
  if (last.size === 0) return [];
  const topics = [...new Set([...last.keys()].map((key) => key.slice(0, key.lastIndexOf(":"))))];
  const consumer = new Consumer<Buffer | undefined, Buffer | undefined, Buffer, Buffer>({
    ...kafkaClientOptions(brokers, security),
    clientId: `dlq-reader-${randomUUID()}`,
    groupId: `dlq-reader-${randomUUID()}`,
    maxWaitTime: 500,
  });
  const read: DeadLetterRecord[] = [];
  try {
    const stream = await consumer.consume({ topics, mode: "earliest", autocommit: false });
    const pending = new Set(last.keys());
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`dead letters not read to their end within ${timeoutMs} ms`)),
        timeoutMs,
      );
      stream.on("error", (error) => {
        clearTimeout(timer);
        reject(error);
      });
      stream.on("data", (m) => {
        const key = `${m.topic}:${m.partition}`;
        const end = last.get(key);
        if (end === undefined || m.offset > end) return;
        read.push(toRecord(m));
        if (m.offset === end) pending.delete(key);
        if (pending.size === 0) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    await stream.close();
  } finally {
    await consumer.close(true);
  }
  return read.filter(
    (r) =>
      (!filter.consumer || r.consumer === filter.consumer) &&
      (!filter.eventId || r.eventId === filter.eventId),
  );
};

/** Republishes each dead letter's original key, value and headers to its original topic. */
export const replayDeadLetters = async (
  producer: KafkaProducer,
  letters: readonly DeadLetterRecord[],
): Promise<void> => {
  if (letters.length === 0) return;
  await producer.send({
    messages: letters.map((letter) => ({
      topic: letter.sourceTopic,
      ...(letter.key === undefined ? {} : { key: letter.key }),
      ...(letter.value === undefined ? {} : { value: letter.value }),
      headers: new Map(letter.headers),
    })),
  });
};
