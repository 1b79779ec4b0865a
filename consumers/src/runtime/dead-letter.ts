import type { Logger } from "pino";
import { dlqTopic } from "../../../domain/topics.ts";
import { type Backoff, backoffDelay, sleep } from "./backoff.ts";
import { describeError, isRecordRefused } from "./failures.ts";
import type { KafkaProducer, ReadMessage } from "./kafka.ts";

/** Headers a dead letter carries besides the original ones (values are UTF-8 strings). */
export const DLQ_HEADERS = {
  error: "x-dlq-error",
  attempts: "x-dlq-attempts",
  consumer: "x-dlq-consumer",
  sourceTopic: "x-dlq-source-topic",
  sourcePartition: "x-dlq-source-partition",
  sourceOffset: "x-dlq-source-offset",
  failedAt: "x-dlq-failed-at",
} as const;

/** Dead letters sent since start, per source topic. */
export type DeadLetterCounts = Map<string, number>;

/** Counts one more dead letter of `topic`; answers the new count. */
export const countDeadLetter = (counts: DeadLetterCounts, topic: string): number => {
  const count = (counts.get(topic) ?? 0) + 1;
  counts.set(topic, count);
  return count;
};

export interface DeadLetter {
  message: ReadMessage;
  error: unknown;
  attempts: number;
  consumer: string;
}

/** The original key, value and headers, plus what failed, where and how often. */
export const deadLetterHeaders = (letter: DeadLetter): Map<Buffer, Buffer> => {
  const { message } = letter;
  const extra: [string, string][] = [
    [DLQ_HEADERS.error, describeError(letter.error)],
    [DLQ_HEADERS.attempts, String(letter.attempts)],
    [DLQ_HEADERS.consumer, letter.consumer],
    [DLQ_HEADERS.sourceTopic, message.topic],
    [DLQ_HEADERS.sourcePartition, String(message.partition)],
    [DLQ_HEADERS.sourceOffset, message.offset.toString()],
    [DLQ_HEADERS.failedAt, new Date().toISOString()],
  ];
  // Distinct Buffer keys keep repeated original header names and their order.
  return new Map<Buffer, Buffer>([
    ...message.headerEntries,
    ...extra.map(([k, v]) => [Buffer.from(k), Buffer.from(v)] as [Buffer, Buffer]),
  ]);
};

/**
 * Publishes the dead letter to `<source topic>.dlq`, waiting out a Kafka outage for as long as it
 * lasts. Answers "sent"; "refused" when Kafka refused the letter itself (a missing `.dlq` topic, a
 * record too large: waiting would not help); "abandoned" when `signal` aborted first.
 */
export const publishDeadLetter = async (
  producer: KafkaProducer,
  letter: DeadLetter,
  opts: { backoff: Backoff; log: Logger; signal: AbortSignal },
): Promise<"sent" | "refused" | "abandoned"> => {
  const { message } = letter;
  const record = {
    topic: dlqTopic(message.topic),
    ...(message.key === undefined ? {} : { key: message.key }),
    ...(message.value === undefined ? {} : { value: message.value }),
    headers: deadLetterHeaders(letter),
  };
  for (let attempt = 1; ; attempt++) {
    if (opts.signal.aborted) return "abandoned";
    try {
      await producer.send({ messages: [record] });
      return "sent";
    } catch (error) {
      if (isRecordRefused(error)) {
        opts.log.error({ err: describeError(error), dlq: record.topic }, "Kafka refused the dead letter");
        return "refused";
      }
      opts.log.warn(
        { err: describeError(error), dlq: record.topic, attempt },
        "could not publish a dead letter; Kafka may be down, retrying",
      );
      if (!(await sleep(backoffDelay(attempt, opts.backoff), opts.signal))) return "abandoned";
    }
  }
};
