import { randomUUID } from "node:crypto";
import { compatibilityPartitioner, ProduceAcks, Producer } from "@platformatic/kafka";
import type { z } from "zod";
import type { ConsumerDefinition } from "../../consumers/src/runtime/types.ts";
import { OrderPlacedSchema } from "../../domain/events.ts";
import { OrderFinalizedSchema, OrderShippedSchema } from "../../domain/order-events.ts";
import { TOPICS } from "../../domain/topics.ts";

/** An event as it was read from Kafka: topic, key (the order id) and value. */
export interface RecordedEvent {
  topic: string;
  key: string;
  value: { eventId: string; orderId: string } & Record<string, unknown>;
}

const PIPELINE: [string, z.ZodType<{ eventId: string; orderId: string }>][] = [
  [TOPICS.orderPlaced, OrderPlacedSchema],
  [TOPICS.orderFinalized, OrderFinalizedSchema],
  [TOPICS.orderShipped, OrderShippedSchema],
];

/** A consumer that only records every event of the order pipeline (read back for the replays). */
export const createRecorder = (): { def: ConsumerDefinition; events: RecordedEvent[] } => {
  const events: RecordedEvent[] = [];
  const def: ConsumerDefinition = {
    name: `e2e-recorder-${randomUUID().slice(0, 8)}`,
    subscriptions: PIPELINE.map(([topic, schema]) => ({
      topic,
      schema,
      handle: async (event: { eventId: string; orderId: string } & Record<string, unknown>) => {
        events.push({ topic, key: event.orderId, value: event });
      },
    })),
  };
  return { def, events };
};

/**
 * Produces the events again to the run's topics (`prefix` + topic), same keys and values, with a
 * native producer (keys placed like the Java client).
 */
export const produceAgain = async (
  brokers: string[],
  prefix: string,
  events: readonly RecordedEvent[],
): Promise<void> => {
  const producer = new Producer({
    clientId: `e2e-replay-${randomUUID().slice(0, 8)}`,
    bootstrapBrokers: brokers,
    acks: ProduceAcks.ALL,
    partitioner: compatibilityPartitioner,
  });
  try {
    await producer.send({
      messages: events.map((e) => ({
        topic: `${prefix}${e.topic}`,
        key: Buffer.from(e.key),
        value: Buffer.from(JSON.stringify(e.value)),
      })),
    });
  } finally {
    await producer.close();
  }
};
