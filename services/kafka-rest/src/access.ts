import { RestError } from "./errors.ts";
import type { KafkaGateway } from "./kafka.ts";
import { topicMatches, type ValidUser } from "./users.ts";

/** The Kafka side of the service as one user may use it. */
export type TopicGateway = Pick<KafkaGateway, "produce" | "topics" | "fetch" | "offsets">;

/** What a logged-in user may do. Routes reach Kafka only through `kafka`, so none can skip a check. */
export interface Access {
  /** The gateway, limited to the user's topics. */
  kafka: TopicGateway;
  /** May read `GET /metrics`. */
  metrics: boolean;
  /** May consume at least one topic. */
  consumes: boolean;
}

export function forbidden(what: string): RestError {
  return new RestError(403, "forbidden", `forbidden: these credentials may not ${what}`);
}

const quoted = (topics: string[]): string => topics.map((t) => `"${t}"`).join(", ");
const topicsOf = (items: readonly { topic: string }[]): string[] => items.map((i) => i.topic);

/**
 * `kafka` limited to what `user` was granted. A request naming any topic outside the grant is refused
 * whole with a 403 before Kafka is asked anything, so nothing is written, and a 403 comes whether the
 * topic exists or not (no probing for topic names). `topics()` lists only the topics the user may use.
 */
export function accessFor(user: ValidUser, kafka: KafkaGateway): Access {
  const mayProduce = (topic: string) => user.produce.some((p) => topicMatches(p, topic));
  const mayConsume = (topic: string) => user.consume.some((p) => topicMatches(p, topic));
  const requireGrant = (allowed: (topic: string) => boolean, what: string, topics: string[]): void => {
    const refused = [...new Set(topics.filter((t) => !allowed(t)))].sort();
    if (refused.length > 0) throw forbidden(`${what} ${quoted(refused)}`);
  };
  return {
    metrics: user.metrics,
    consumes: user.consume.length > 0,
    kafka: {
      produce: async (messages) => {
        requireGrant(mayProduce, "produce to", topicsOf(messages));
        return kafka.produce(messages);
      },
      topics: async () =>
        Object.fromEntries(
          Object.entries(await kafka.topics()).filter(([topic]) => mayProduce(topic) || mayConsume(topic)),
        ),
      fetch: async (targets, maxWaitMs) => {
        requireGrant(mayConsume, "read", topicsOf(targets));
        return kafka.fetch(targets, maxWaitMs);
      },
      offsets: async (partitions, at) => {
        requireGrant(mayConsume, "read the offsets of", topicsOf(partitions));
        return kafka.offsets(partitions, at);
      },
    },
  };
}
