import { randomBytes, randomUUID } from "node:crypto";
import { Admin } from "@platformatic/kafka";
import { Kafka, UpstashError } from "@upstash/kafka";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parsePrometheus, sumOf } from "../../../consumers/src/test-support/prometheus.ts";
import { ensureTopics } from "../../../consumers/src/topics/ensure-topics.ts";
import { ensureKafka } from "../../../local/kafka/broker.ts";
import { type KafkaRestServer, startKafkaRest } from "./server.ts";
import type { KafkaRestUser } from "./users.ts";

// Per-user grants against a real broker, through `@upstash/kafka` as the workers use it. What reached
// a topic is checked with Kafka's own end offsets and by reading with a credential that may read.

const run = randomUUID().slice(0, 8);
/** Topics named like a local run's (`<prefix>order-placed`), so the workers' globs are exercised. */
const prefix = `kafka-rest-acl-${run}.`;
const orderPlaced = `${prefix}order-placed`;
const cartUpdated = `${prefix}cart-updated`;
const paymentResults = `${prefix}payment-results`;
const TOPICS = [orderPlaced, cartUpdated, paymentResults];
const PARTITIONS = 2;

const secret = () => randomBytes(12).toString("hex");
const users = {
  // The workers' credential: writes the three topics the workers publish, under any prefix; reads nothing.
  workers: {
    username: "workers",
    password: secret(),
    produce: ["*order-placed", "*cart-updated", "*catalog-updated"],
  },
  // The one allowed writer of payment-results here: shows that a write there does show up.
  payments: { username: "payments", password: secret(), produce: [paymentResults] },
  auditor: { username: "auditor", password: secret(), consume: [`${prefix}*`] },
  prometheus: { username: "prometheus", password: secret(), metrics: true },
} satisfies Record<string, KafkaRestUser>;

let brokers: string[] = [];
let rest: KafkaRestServer;
let admin: Admin;

const client = (user: KafkaRestUser) =>
  new Kafka({ url: rest.url, username: user.username, password: user.password });
const basic = (user: { username: string; password: string }) =>
  `Basic ${Buffer.from(`${user.username}:${user.password}`).toString("base64")}`;
const post = (path: string, user: KafkaRestUser, body: unknown) =>
  fetch(`${rest.url}${path}`, {
    method: "POST",
    headers: { authorization: basic(user), "content-type": "application/json" },
    body: JSON.stringify(body),
  });

/** The status of the UpstashError `work` fails with (the test fails if it succeeds). */
async function failureOf(work: Promise<unknown>): Promise<{ status: number; message: string }> {
  const error = await work.then(
    (answer) => new Error(`expected a failure, got ${JSON.stringify(answer)}`),
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(UpstashError);
  return { status: (error as UpstashError).status, message: (error as UpstashError).message };
}

/** Kafka's end offset of each partition of `topic`, asked of the broker, not of the service. */
async function endOffsets(topic: string): Promise<number[]> {
  const [listed] = await admin.listOffsets({
    topics: [
      {
        name: topic,
        partitions: Array.from({ length: PARTITIONS }, (_, partitionIndex) => ({
          partitionIndex,
          timestamp: -1n,
        })),
      },
    ],
  });
  return (listed?.partitions ?? [])
    .sort((a, b) => a.partitionIndex - b.partitionIndex)
    .map((p) => Number(p.offset));
}

/** Every message of `topic` from `from[partition]` on, read with the auditor's credential. */
async function readFrom(topic: string, from: number[]): Promise<string[]> {
  const fetched = await client(users.auditor)
    .consumer()
    .fetch({
      topicPartitionOffsets: from.map((offset, partition) => ({ topic, partition, offset })),
      timeout: 1000,
    });
  return fetched.map((m) => m.value);
}

beforeAll(async () => {
  brokers = (await ensureKafka()).brokers;
  await ensureTopics(brokers, TOPICS, { partitions: PARTITIONS });
  admin = new Admin({ clientId: `kafka-rest-acl-${run}`, bootstrapBrokers: brokers });
  rest = await startKafkaRest({ brokers, users: Object.values(users), port: 0 });
});

afterAll(async () => {
  await rest?.close();
  await admin?.deleteTopics({ topics: TOPICS }).finally(() => admin.close());
});

// The client retries every failed request, 403 and 401 included, 5 times (about 15.5 s) before it
// throws, so these run concurrently, and so do the refused calls inside each.
describe.concurrent("the workers' produce-only credential", () => {
  it("writes order-placed (a glob grant) and the message is in Kafka", async () => {
    const record = await client(users.workers)
      .producer()
      .produce(orderPlaced, { orderId: "o-1" }, { key: "o-1" });
    expect(record.topic).toBe(orderPlaced);
    const [stored] = await client(users.auditor)
      .consumer()
      .fetch({ topic: orderPlaced, partition: record.partition, offset: record.offset, timeout: 1000 });
    expect(stored).toMatchObject({
      offset: record.offset,
      key: "o-1",
      value: JSON.stringify({ orderId: "o-1" }),
    });
  });

  it("gets 403 producing to payment-results, and nothing reaches the topic", async () => {
    const before = await endOffsets(paymentResults);
    const workers = client(users.workers);
    const refused = await Promise.all([
      failureOf(workers.producer().produce(paymentResults, { orderId: "o-1", status: "authorized" })),
      // All or nothing: the allowed message of a batch is not written either.
      failureOf(
        workers.producer().produceMany([
          { topic: cartUpdated, value: "allowed" },
          { topic: paymentResults, value: "refused" },
        ]),
      ),
      failureOf(workers.producer().produce(`${paymentResults}.dlq`, "x")),
    ]);
    for (const failure of refused) expect(failure.status).toBe(403);
    expect(refused[0]?.message).toBe(`forbidden: these credentials may not produce to "${paymentResults}"`);
    expect(await endOffsets(paymentResults)).toEqual(before);
    expect(await endOffsets(cartUpdated)).toEqual([0, 0]);

    // A write that is allowed does move the end offsets, and it is the only message there.
    const control = await client(users.payments)
      .producer()
      .produce(paymentResults, "control", { partition: 0 });
    expect(control.offset).toBe(before[0]);
    expect(await endOffsets(paymentResults)).toEqual([(before[0] ?? 0) + 1, before[1]]);
    expect(await readFrom(paymentResults, before)).toEqual(["control"]);
  });

  it("gets 403 reading payment-results, or any topic, through every read route", async () => {
    const workers = client(users.workers);
    const refused = await Promise.all([
      failureOf(workers.consumer().fetch({ topic: paymentResults, partition: 0, offset: 0, timeout: 100 })),
      // Its own topics included: producing does not grant reading.
      failureOf(workers.consumer().fetch({ topic: orderPlaced, partition: 0, offset: 0, timeout: 100 })),
      failureOf(
        workers.admin().topicPartitionOffsets({
          timestamp: Date.now(),
          topicPartition: { topic: paymentResults, partition: 0 },
        }),
      ),
      failureOf(
        workers.consumer().consume({ consumerGroupId: "g", instanceId: "i", topics: [paymentResults] }),
      ),
      failureOf(
        workers.admin().committedOffsets({
          consumerGroupId: "g",
          instanceId: "i",
          topicPartition: { topic: paymentResults, partition: 0 },
        }),
      ),
    ]);
    expect(refused.map((f) => f.status)).toEqual([403, 403, 403, 403, 403]);
    expect(refused[0]?.message).toBe(`forbidden: these credentials may not read "${paymentResults}"`);
  });

  it("lists only the topics it may write", async () => {
    const topics = await client(users.workers).admin().topics();
    expect(topics[orderPlaced]).toBe(PARTITIONS);
    expect(topics[cartUpdated]).toBe(PARTITIONS);
    expect(topics[paymentResults]).toBeUndefined();
    for (const name of Object.keys(topics))
      expect(name).toMatch(/(order-placed|cart-updated|catalog-updated)$/);
    // The reader sees this run's topics, all of them, and no one else's.
    const seen = Object.keys(await client(users.auditor).admin().topics()).sort();
    expect(seen).toEqual([...TOPICS].sort());
  });
});

describe.concurrent("other credentials", () => {
  it("a read-only credential cannot write", async () => {
    // cart-updated: no test writes it, so its end offsets must not move.
    const before = await endOffsets(cartUpdated);
    const failure = await failureOf(client(users.auditor).producer().produce(cartUpdated, "x"));
    expect(failure).toEqual({
      status: 403,
      message: `forbidden: these credentials may not produce to "${cartUpdated}"`,
    });
    expect(await endOffsets(cartUpdated)).toEqual(before);
  });

  it("a wrong password, or a right password under another name, is 401, and says nothing more", async () => {
    const attempts = [
      { username: users.workers.username, password: `${users.workers.password}x` },
      { username: users.workers.username, password: users.payments.password },
      { username: "nobody", password: users.workers.password },
    ];
    const failures = await Promise.all(
      attempts.map((user) => failureOf(client(user).producer().produce(orderPlaced, "x"))),
    );
    for (const failure of failures) {
      expect(failure).toEqual({ status: 401, message: "unauthorized: wrong or missing username/password" });
    }
  });

  it("/metrics answers only the credential granted metrics", async () => {
    const metrics = (authorization?: string) =>
      fetch(`${rest.url}/metrics`, authorization ? { headers: { authorization } } : {});
    expect((await metrics()).status).toBe(401);
    const granted = await metrics(basic(users.prometheus));
    expect(granted.status).toBe(200);
    const samples = parsePrometheus(await granted.text());
    expect(sumOf(samples, "kafka_rest_requests_total", { status: "401" })).toBeGreaterThan(0);
    for (const user of [users.workers, users.auditor, users.payments]) {
      const res = await metrics(basic(user));
      expect(res.status).toBe(403);
      expect(await res.json()).toEqual({
        error: "forbidden: these credentials may not read /metrics",
        status: 403,
        code: "forbidden",
      });
    }
    // The metrics credential reaches no topic.
    expect(await client(users.prometheus).admin().topics()).toEqual({});
    expect((await post("/produce", users.prometheus, { topic: orderPlaced, value: "x" })).status).toBe(403);
  });
});
