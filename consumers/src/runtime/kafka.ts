import { compatibilityPartitioner, type Message, ProduceAcks, Producer } from "@platformatic/kafka";
import type { KafkaSecurity } from "../../../services/kafka-client/security.ts";

/** Messages as the runner reads them: raw bytes; values are parsed with the subscription's schema. */
export type KafkaMessage = Message<Buffer | undefined, Buffer | undefined, Buffer, Buffer>;

export type KafkaProducer = Producer<Buffer, Buffer, Buffer, Buffer>;

/** What the runtime needs of a message read (parsing, parking, dead letters): a parked row gives it too. */
export type ReadMessage = Pick<
  KafkaMessage,
  "topic" | "partition" | "offset" | "key" | "value" | "headerEntries"
>;

/** Client settings shared by the runner's consumers and producers (`security`: a managed cluster's login). */
export const kafkaClientOptions = (brokers: string[], security: KafkaSecurity = {}) => ({
  ...security,
  bootstrapBrokers: brokers,
  connectTimeout: 5_000,
  timeout: 10_000,
  requestTimeout: 10_000,
  // An idempotent producer given retries <= 1 retries forever; the runner does its own waiting.
  retries: 3,
  retryDelay: 250,
  metadataMaxAge: 5_000,
});

/**
 * The producer of dead letters and outbox events: `acks=all` and idempotent (no duplicates or
 * reordering from its own retries), keys placed like the Java client (and the Kafka REST service)
 * place them, so one order id lands on one partition whoever produced it.
 */
export const createKafkaProducer = (
  brokers: string[],
  clientId: string,
  security: KafkaSecurity = {},
): KafkaProducer =>
  new Producer({
    ...kafkaClientOptions(brokers, security),
    clientId,
    acks: ProduceAcks.ALL,
    idempotent: true,
    partitioner: compatibilityPartitioner,
  });

export const partitionKey = (topic: string, partition: number): string => `${topic}:${partition}`;
