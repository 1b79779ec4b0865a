/** Kafka topics of the system. Each has a `.dlq` twin for events that failed every retry. */
export const TOPICS = {
  cartUpdated: "cart-updated",
  orderPlaced: "order-placed",
  catalogUpdated: "catalog-updated",
  paymentEvents: "payment-events",
  orderFinalized: "order-finalized",
  orderShipped: "order-shipped",
} as const;

export type Topic = (typeof TOPICS)[keyof typeof TOPICS];

/**
 * The topics the workers publish (checkout, carts, the admin's catalog writes, the processor's
 * webhooks), through Kafka REST: their login may produce these and nothing else (a merchant's
 * cancellation goes through the outbox).
 */
export const WORKER_TOPICS = [
  TOPICS.orderPlaced,
  TOPICS.cartUpdated,
  TOPICS.catalogUpdated,
  TOPICS.paymentEvents,
] as const;

export const dlqTopic = (topic: string): string => `${topic}.dlq`;

/** Every topic the system needs, dead-letter twins included. */
export const allTopics = (topics: readonly string[] = Object.values(TOPICS)): string[] =>
  topics.flatMap((topic) => [topic, dlqTopic(topic)]);

/**
 * Local runs share one Kafka cluster: each kind of run (`dev.`, `test-<id>.`, `bench-<id>.`) puts
 * this prefix before every topic and consumer group id, so none reads another's events. Production
 * uses none. Kafka allows letters, digits, `.`, `_` and `-` in names.
 */
export const KAFKA_PREFIX_PATTERN = /^[A-Za-z0-9._-]*$/;

/** Every topic of a run with `prefix`, dead-letter twins included. */
export const prefixedTopics = (prefix: string): string[] =>
  allTopics(Object.values(TOPICS).map((topic) => `${prefix}${topic}`));

/** The consumer group id of consumer `name` in a run with `prefix` (and an optional `suffix`). */
export const consumerGroupId = (name: string, prefix = "", suffix = ""): string =>
  `${prefix}${name}${suffix}`;
