import { z } from "zod";

/** Kafka's own rule for topic names. */
export const TopicNameSchema = z.string().regex(/^[A-Za-z0-9._-]{1,249}$/, "not a valid Kafka topic name");

const PartitionSchema = z.number().int().min(0).max(2_147_483_647);
const OffsetSchema = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

export const HeaderSchema = z.object({ key: z.string(), value: z.string() });
export type Header = z.infer<typeof HeaderSchema>;

/** One message as `@upstash/kafka` sends it; the client has already turned `value` into a string. */
export const MessageFieldsSchema = z.object({
  value: z.string(),
  key: z.string().nullish(),
  partition: PartitionSchema.nullish(),
  /** Record timestamp, Unix milliseconds (as Kafka and the Upstash REST docs use them). */
  timestamp: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).nullish(),
  headers: z.array(HeaderSchema).max(100).nullish(),
});

export const ProduceRequestSchema = MessageFieldsSchema.extend({ topic: TopicNameSchema });
export type ProduceRequest = z.infer<typeof ProduceRequestSchema>;

export const MAX_MESSAGES_PER_REQUEST = 1000;

/** `POST /produce/:topic`: the topic comes from the path; a `topic` field, if any, must match it. */
export const TopicMessageSchema = MessageFieldsSchema.extend({ topic: TopicNameSchema.optional() });

export const TopicPartitionSchema = z.object({ topic: TopicNameSchema, partition: PartitionSchema });
export const TopicPartitionOffsetSchema = TopicPartitionSchema.extend({ offset: OffsetSchema });
export type TopicPartitionOffset = z.infer<typeof TopicPartitionOffsetSchema>;

export const MAX_FETCH_WAIT_MS = 10_000;

/** `POST /fetch`: one `{topic, partition, offset}` triple and/or a list of them. */
export const FetchBodySchema = z
  .object({
    topic: TopicNameSchema.optional(),
    partition: PartitionSchema.optional(),
    offset: OffsetSchema.optional(),
    topicPartitionOffsets: z.array(TopicPartitionOffsetSchema).max(100).optional(),
    timeout: z.number().int().min(0).max(MAX_FETCH_WAIT_MS).optional(),
  })
  .refine(
    (b) =>
      (b.topic === undefined) === (b.partition === undefined) &&
      (b.topic === undefined) === (b.offset === undefined),
    {
      message: "topic, partition and offset go together",
    },
  )
  .refine((b) => b.topic !== undefined || (b.topicPartitionOffsets?.length ?? 0) > 0, {
    message: "give topic, partition and offset, or topicPartitionOffsets",
  });

/** `POST /offsets/:timestamp` body: one topic-partition or a list of them. */
export const OffsetsBodySchema = z.union([
  TopicPartitionSchema,
  z.array(TopicPartitionSchema).min(1).max(1000),
]);

export const OffsetsTimestampSchema = z.union([
  z.literal("earliest"),
  z.literal("latest"),
  z.string().regex(/^\d{1,16}$/, "expected earliest, latest or Unix milliseconds"),
]);
