import type { NodePgDatabase } from "drizzle-orm/node-postgres";
import type { Logger } from "pino";
import type { z } from "zod";
import type * as schema from "../../../db/schema/index.ts";

/** The Postgres handle a handler works in: the transaction that also records the event id. */
export type Tx = Parameters<Parameters<NodePgDatabase<typeof schema>["transaction"]>[0]>[0];

export interface HandlerContext {
  /** The transaction of this event: the effect, the processed event id and emitted events commit together. */
  tx: Tx;
  /**
   * Emits an event through the transactional outbox (published to Kafka after the commit).
   * The payload must carry its own `eventId`; it is validated with the topic's schema by the caller.
   */
  emit(topic: string, key: string, payload: { eventId: string } & Record<string, unknown>): Promise<void>;
  log: Logger;
  /** Kafka coordinates of the message, for logs. */
  source: { topic: string; partition: number; offset: bigint };
}

/** One subscription of a consumer: a topic, the schema its values are parsed with, and what to do. */
export interface Subscription<S extends z.ZodType = z.ZodType> {
  topic: string;
  schema: S;
  handle(event: z.infer<S>, ctx: HandlerContext): Promise<void>;
}

/** A consumer does one thing, in one consumer group, over one or more topics. */
export interface ConsumerDefinition {
  /** Consumer group id and the `consumer` column of processed_events. */
  name: string;
  subscriptions: Subscription[];
}

/** Builds a subscription with the handler's event type inferred from the schema. */
export const subscribe = <S extends z.ZodType>(
  topic: string,
  schema: S,
  handle: (event: z.infer<S>, ctx: HandlerContext) => Promise<void>,
): Subscription => ({ topic, schema, handle: handle as Subscription["handle"] });
