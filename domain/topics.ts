/** Kafka topics of the system. Each has a `.dlq` twin for events that failed every retry. */
export const TOPICS = {
  cartUpdated: "cart-updated",
  orderPlaced: "order-placed",
  catalogUpdated: "catalog-updated",
  orderRecorded: "order-recorded",
  inventoryResults: "inventory-results",
  paymentResults: "payment-results",
  orderFinalized: "order-finalized",
  orderShipped: "order-shipped",
} as const;

export type Topic = (typeof TOPICS)[keyof typeof TOPICS];

export const dlqTopic = (topic: string): string => `${topic}.dlq`;

/** Every topic the system needs, dead-letter twins included. */
export const allTopics = (topics: readonly string[] = Object.values(TOPICS)): string[] =>
  topics.flatMap((topic) => [topic, dlqTopic(topic)]);
