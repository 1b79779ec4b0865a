import { Admin, type ClusterMetadata, murmur2, ProduceAcks, Producer } from "@platformatic/kafka";
import type { KafkaSecurity } from "../../kafka-client/security.ts";
import { RestError, withDeadline } from "./errors.ts";
import { fetchRecords } from "./kafka-fetch.ts";
import type { Header, TopicPartitionOffset } from "./schemas.ts";

/** A message to write, as validated from the request. */
export interface OutgoingMessage {
  topic: string;
  value: string;
  key?: string;
  partition?: number;
  /** Unix milliseconds; the service sets the current time when absent. */
  timestamp?: number;
  headers: Header[];
}

/** What `@upstash/kafka` expects back for each produced message. */
export interface ProducedRecord {
  topic: string;
  partition: number;
  offset: number;
  timestamp: number;
}

/** What `@upstash/kafka` expects back for each fetched message. */
export interface FetchedRecord extends ProducedRecord {
  key: string;
  value: string;
  headers: Header[];
}

export type OffsetSpec = "earliest" | "latest" | number;

/** The Kafka side of the service; `createApp` takes any implementation of it. */
export interface KafkaGateway {
  produce(messages: OutgoingMessage[]): Promise<ProducedRecord[]>;
  /** Topic name to partition count, internal topics excluded. */
  topics(): Promise<Record<string, number>>;
  fetch(targets: TopicPartitionOffset[], maxWaitMs: number): Promise<FetchedRecord[]>;
  offsets(
    partitions: { topic: string; partition: number }[],
    at: OffsetSpec,
  ): Promise<TopicPartitionOffset[]>;
  /** Resolves when a broker answers a metadata request. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface KafkaGatewayOptions {
  brokers: string[];
  /** A managed cluster's SASL login and TLS. */
  security?: KafkaSecurity;
  clientId?: string;
  /** Upper bound for any one Kafka operation behind an HTTP request. */
  timeoutMs?: number;
  /** Told of every produce request sent to Kafka: its messages, its latency, whether it succeeded. */
  onSend?: (messages: number, seconds: number, ok: boolean) => void;
}

/** Same placement as the Java client's default partitioner for keyed records (murmur2, positive). */
export function partitionForKey(key: Buffer, partitions: number): number {
  return (murmur2(key) & 0x7fffffff) % partitions;
}

/** Bounds of one coalesced produce request. */
const MAX_COALESCED_BYTES = 512 * 1024;
const MAX_COALESCED_MESSAGES = 2_000;

export function createKafkaGateway(o: KafkaGatewayOptions): KafkaGateway {
  const clientId = o.clientId ?? "kafka-rest";
  const timeoutMs = o.timeoutMs ?? 5000;
  const common = {
    ...o.security,
    bootstrapBrokers: o.brokers,
    connectTimeout: Math.min(2000, timeoutMs),
    timeout: timeoutMs,
    requestTimeout: timeoutMs,
    // Kafka down: refused connections fail in ~0.5 s. (An idempotent producer given retries <= 1
    // retries forever, so 2 is also the smallest value that keeps it bounded.)
    retries: 2,
    retryDelay: 250,
    metadataMaxAge: 5000,
  };
  const producer = new Producer({ ...common, clientId, acks: ProduceAcks.ALL, idempotent: true });
  const admin = new Admin({ ...common, clientId: `${clientId}-admin` });
  const roundRobin = new Map<string, number>();

  async function partitionCount(topic: string): Promise<number> {
    let metadata: ClusterMetadata;
    try {
      metadata = await producer.metadata({ topics: [topic] });
    } catch (err) {
      if (err instanceof Error && err.message.startsWith("Unknown topic")) {
        throw new RestError(404, "topic_not_found", `topic "${topic}" does not exist`, { cause: err });
      }
      throw err;
    }
    const count = metadata.topics.get(topic)?.partitionsCount ?? 0;
    if (count < 1) throw new RestError(404, "topic_not_found", `topic "${topic}" does not exist`);
    return count;
  }

  async function produce(messages: OutgoingMessage[]): Promise<ProducedRecord[]> {
    const topics = [...new Set(messages.map((m) => m.topic))];
    const counts = new Map(await Promise.all(topics.map(async (t) => [t, await partitionCount(t)] as const)));
    const now = Date.now();
    const prepared = messages.map((m) => {
      const count = counts.get(m.topic) ?? 0;
      const key = m.key === undefined ? undefined : Buffer.from(m.key);
      let partition = m.partition;
      if (partition === undefined) {
        if (key) partition = partitionForKey(key, count);
        else {
          partition = (roundRobin.get(m.topic) ?? 0) % count;
          roundRobin.set(m.topic, partition + 1);
        }
      } else if (partition >= count) {
        throw new RestError(
          404,
          "partition_not_found",
          `partition ${partition} of topic "${m.topic}" does not exist (it has ${count})`,
        );
      }
      // A Map keyed by distinct Buffers keeps repeated header keys and their order.
      const headers = new Map(m.headers.map((h) => [Buffer.from(h.key), Buffer.from(h.value)] as const));
      const timestamp = m.timestamp ?? now;
      return { topic: m.topic, partition, key, value: Buffer.from(m.value), headers, timestamp };
    });
    return sendCoalesced(prepared);
  }

  type Prepared = {
    topic: string;
    partition: number;
    key: Buffer | undefined;
    value: Buffer;
    headers: Map<Buffer, Buffer>;
    timestamp: number;
  };
  type Waiting = {
    prepared: Prepared[];
    bytes: number;
    resolve: (records: ProducedRecord[]) => void;
    reject: (error: unknown) => void;
  };
  let waiting: Waiting[] = [];
  let sending = false;

  /**
   * The idempotent producer keeps one produce request in flight per broker (that is how it orders
   * without gaps), so concurrent REST requests would each wait for the one before. Instead, the
   * requests that arrive while a send is in flight go out together in the next one, as Kafka clients
   * batch: one record batch per partition, in arrival order, and each request gets its own offsets.
   */
  function sendCoalesced(prepared: Prepared[]): Promise<ProducedRecord[]> {
    const bytes = prepared.reduce((n, p) => n + p.value.length + (p.key?.length ?? 0), 0);
    return new Promise((resolve, reject) => {
      waiting.push({ prepared, bytes, resolve, reject });
      void pump();
    });
  }

  async function pump(): Promise<void> {
    if (sending || waiting.length === 0) return;
    sending = true;
    // Bounded, so a combined request stays far below the broker's message.max.bytes.
    let take = 0;
    let bytes = 0;
    let count = 0;
    for (const w of waiting) {
      if (
        take > 0 &&
        (bytes + w.bytes > MAX_COALESCED_BYTES || count + w.prepared.length > MAX_COALESCED_MESSAGES)
      )
        break;
      take++;
      bytes += w.bytes;
      count += w.prepared.length;
    }
    const batch = waiting.slice(0, take);
    waiting = waiting.slice(take);
    const all = batch.flatMap((w) => w.prepared);
    const started = performance.now();
    try {
      const result = await producer.send({
        messages: all.map((p) => ({ ...p, timestamp: BigInt(p.timestamp) })),
      });
      o.onSend?.(all.length, (performance.now() - started) / 1000, true);
      // One produce request carries one batch per partition, in message order: the broker returns
      // each batch's base offset, and the n-th message of a partition in the request sits at base + n.
      const base = new Map((result.offsets ?? []).map((r) => [`${r.topic}:${r.partition}`, r.offset]));
      const seen = new Map<string, number>();
      const place = (p: Prepared): ProducedRecord => {
        const slot = `${p.topic}:${p.partition}`;
        const first = base.get(slot);
        if (first === undefined) throw new Error(`Kafka acknowledged no offset for ${slot}`);
        const index = seen.get(slot) ?? 0;
        seen.set(slot, index + 1);
        return {
          topic: p.topic,
          partition: p.partition,
          offset: Number(first) + index,
          timestamp: p.timestamp,
        };
      };
      for (const w of batch) {
        try {
          w.resolve(w.prepared.map(place));
        } catch (error) {
          w.reject(error);
        }
      }
    } catch (error) {
      o.onSend?.(all.length, (performance.now() - started) / 1000, false);
      for (const w of batch) w.reject(error);
    } finally {
      sending = false;
      void pump();
    }
  }

  async function topics(): Promise<Record<string, number>> {
    const names = (await admin.listTopics()).sort();
    if (names.length === 0) return {};
    const metadata = await admin.metadata({ topics: names });
    return Object.fromEntries(names.map((n) => [n, metadata.topics.get(n)?.partitionsCount ?? 0]));
  }

  async function offsets(
    partitions: { topic: string; partition: number }[],
    at: OffsetSpec,
  ): Promise<TopicPartitionOffset[]> {
    const timestamp = at === "latest" ? -1n : at === "earliest" ? -2n : BigInt(at);
    const byTopic = new Map<string, number[]>();
    for (const p of partitions) byTopic.set(p.topic, [...(byTopic.get(p.topic) ?? []), p.partition]);
    await Promise.all([...byTopic.keys()].map((t) => partitionCount(t)));
    const listed = await admin.listOffsets({
      topics: [...byTopic].map(([name, ps]) => ({
        name,
        partitions: ps.map((partitionIndex) => ({ partitionIndex, timestamp })),
      })),
    });
    return listed.flatMap((t) =>
      t.partitions.map((p) => ({ topic: t.name, partition: p.partitionIndex, offset: Number(p.offset) })),
    );
  }

  return {
    produce: (messages) => withDeadline(timeoutMs, "produce", produce(messages)),
    topics: () => withDeadline(timeoutMs, "listing topics", topics()),
    fetch: (targets, maxWaitMs) =>
      withDeadline(
        timeoutMs + maxWaitMs,
        "fetch",
        fetchRecords({ ...common, clientId: `${clientId}-fetch` }, targets, maxWaitMs),
      ),
    offsets: (partitions, at) => withDeadline(timeoutMs, "listing offsets", offsets(partitions, at)),
    ping: () =>
      withDeadline(
        timeoutMs,
        "metadata",
        // forceUpdate: without it the client answers from its cached metadata, even with every broker down.
        admin.metadata({ topics: [], forceUpdate: true }).then(() => undefined),
      ),
    close: async () => {
      await Promise.allSettled([producer.close(), admin.close()]);
    },
  };
}
