import { randomUUID } from "node:crypto";
import { Admin, Consumer, type Message, ProduceAcks, Producer } from "@platformatic/kafka";
import { and, isNull, like, sql } from "drizzle-orm";
import { pino } from "pino";
import { inject } from "vitest";
import type { Db } from "../../../db/node-client.ts";
import { outbox } from "../../../db/schema/index.ts";
import { allTopics } from "../../../domain/topics.ts";
import { deleteRunTopics } from "../../../local/kafka/run-topics.ts";
import { ensureTopics } from "../topics/ensure-topics.ts";

/**
 * Kafka for the consumers' integration tests: the test stack's real broker, private topics (a
 * unique prefix per test file, so files never read each other's messages) and a native reader.
 */

export const brokers = (): string[] => inject("stack").kafkaBrokers.split(",");

/** Silent unless TEST_LOG_LEVEL is set (e.g. `TEST_LOG_LEVEL=debug npx vitest run consumers`). */
export const testLog = pino({ level: process.env.TEST_LOG_LEVEL ?? "silent" });

/**
 * A unique topic prefix (`<run prefix>t<hex>.`, inside the test run's own) and `-t<hex>` group
 * suffix for one test file.
 */
export const isolation = (): { topicPrefix: string; groupSuffix: string } => {
  const id = randomUUID().replaceAll("-", "").slice(0, 12);
  return { topicPrefix: `${inject("stack").kafkaTopicPrefix}t${id}.`, groupSuffix: `-t${id}` };
};

/** Creates `prefix + name` and its `.dlq` twin for each name. */
export const createTopics = async (prefix: string, names: string[], partitions = 4): Promise<void> => {
  await ensureTopics(brokers(), allTopics(names.map((n) => `${prefix}${n}`)), { partitions });
};

/**
 * Deletes a test file's topics (and consumer groups) once nothing in `db`'s outbox waits for them (a relay would stall on
 * a row whose topic is gone); otherwise leaves them for the broker's next cleanup.
 */
export const dropTopics = async (db: Db, prefix: string): Promise<void> => {
  const [waiting] = await db
    .select({ n: sql<number>`count(*)::int` })
    .from(outbox)
    .where(and(like(outbox.topic, `${prefix}%`), isNull(outbox.publishedAt)));
  if ((waiting?.n ?? 0) > 0) return;
  await deleteRunTopics(brokers(), prefix);
};

/** The committed offset of each partition of `topic` for `groupId` (-1 when none). */
export const committedOffsets = async (groupId: string, topic: string): Promise<Map<number, bigint>> => {
  const admin = new Admin({ clientId: `test-admin-${randomUUID()}`, bootstrapBrokers: brokers() });
  try {
    const [group] = await admin.listConsumerGroupOffsets({ groups: [groupId] });
    const partitions = group?.topics.find((t) => t.name === topic)?.partitions ?? [];
    return new Map(partitions.map((p) => [p.partitionIndex, p.committedOffset]));
  } finally {
    await admin.close();
  }
};

export interface OutgoingTestMessage {
  topic: string;
  key?: string;
  /** Objects are sent as JSON, strings as they are. */
  value: unknown;
  headers?: Record<string, string>;
}

export interface TestProducer {
  send(messages: OutgoingTestMessage[]): Promise<void>;
  close(): Promise<void>;
}

export const createTestProducer = (): TestProducer => {
  const producer = new Producer({
    clientId: `test-producer-${randomUUID()}`,
    bootstrapBrokers: brokers(),
    acks: ProduceAcks.ALL,
  });
  return {
    send: async (messages) => {
      await producer.send({
        messages: messages.map((m) => ({
          topic: m.topic,
          ...(m.key === undefined ? {} : { key: Buffer.from(m.key) }),
          value: Buffer.from(typeof m.value === "string" ? m.value : JSON.stringify(m.value)),
          headers: new Map(
            Object.entries(m.headers ?? {}).map(
              ([k, v]) => [Buffer.from(k), Buffer.from(v)] as [Buffer, Buffer],
            ),
          ),
        })),
      });
    },
    close: () => producer.close(),
  };
};

export interface ReadMessage {
  topic: string;
  partition: number;
  offset: bigint;
  key: string | undefined;
  value: string;
  headers: Record<string, string>;
  json(): unknown;
}

type RawMessage = Message<Buffer | undefined, Buffer | undefined, Buffer, Buffer>;

const toRead = (m: RawMessage): ReadMessage => {
  const value = m.value?.toString("utf8") ?? "";
  return {
    topic: m.topic,
    partition: m.partition,
    offset: m.offset,
    key: m.key?.toString("utf8"),
    value,
    headers: Object.fromEntries(m.headerEntries.map(([k, v]) => [k.toString("utf8"), v.toString("utf8")])),
    json: () => JSON.parse(value),
  };
};

/**
 * Reads a topic from its beginning with a native consumer (own throwaway group) until `until`
 * holds for what was read, or `timeoutMs` passes; returns what was read either way.
 */
export const readTopic = async (
  topic: string,
  until: (messages: ReadMessage[]) => boolean,
  timeoutMs = 20_000,
): Promise<ReadMessage[]> => {
  const consumer = new Consumer<Buffer | undefined, Buffer | undefined, Buffer, Buffer>({
    clientId: `test-reader-${randomUUID()}`,
    groupId: `test-reader-${randomUUID()}`,
    bootstrapBrokers: brokers(),
    heartbeatInterval: 500,
    maxWaitTime: 500,
  });
  const read: ReadMessage[] = [];
  try {
    const stream = await consumer.consume({ topics: [topic], mode: "earliest", autocommit: false });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(resolve, timeoutMs);
      stream.on("error", (error) => {
        clearTimeout(timer);
        reject(error);
      });
      const check = (): void => {
        if (until(read)) {
          clearTimeout(timer);
          resolve();
        }
      };
      stream.on("data", (m: RawMessage) => {
        read.push(toRead(m));
        check();
      });
      check();
    });
    await stream.close();
  } finally {
    await consumer.close(true);
  }
  return read;
};

/** The message's value as JSON, or undefined when it is not JSON. */
export const jsonOf = (message: ReadMessage): unknown => {
  try {
    return message.json();
  } catch {
    return undefined;
  }
};

/** Polls `probe` every 100 ms until it returns true; fails after `timeoutMs` naming `what`. */
export const waitUntil = async (
  what: string,
  probe: () => Promise<boolean>,
  timeoutMs = 30_000,
): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await probe()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
};
