import { randomBytes, randomUUID } from "node:crypto";
import { Admin, Consumer, type Message, MessagesStreamModes, stringDeserializers } from "@platformatic/kafka";
import { Kafka, UpstashError } from "@upstash/kafka";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parsePrometheus, scrape, sumOf } from "../../../consumers/src/test-support/prometheus.ts";
import { ensureTopics } from "../../../consumers/src/topics/ensure-topics.ts";
import { ensureKafka } from "../../../local/kafka/broker.ts";
import { ConfigError } from "./config.ts";
import { partitionForKey } from "./kafka.ts";
import { type KafkaRestServer, type StartKafkaRestOptions, startKafkaRest } from "./server.ts";

// Integration tests against a real broker (ensureKafka reuses the one on 127.0.0.1:9092 or starts
// it). The broker is shared with other suites and is never stopped here.

type StringMessage = Message<string, string, string, string>;

const username = "storefront";
const password = randomBytes(16).toString("hex");
const run = randomUUID().slice(0, 8);
const orders = `kafka-rest-test-${run}-orders`;
const carts = `kafka-rest-test-${run}-carts`;
/** One user for the protocol tests: every topic of this run (missing ones too, for the 404s) and /metrics. */
const users = [
  {
    username,
    password,
    produce: [`kafka-rest-test-${run}-*`],
    consume: [`kafka-rest-test-${run}-*`],
    metrics: true,
  },
];

let brokers: string[] = [];
let rest: KafkaRestServer;
let kafka: Kafka;

/** Reads `count` messages of `topic` from the beginning with a native consumer. */
async function readBack(topic: string, count: number, timeoutMs = 20_000): Promise<StringMessage[]> {
  const consumer = new Consumer({
    clientId: `kafka-rest-test-${run}`,
    groupId: `kafka-rest-test-${randomUUID()}`,
    bootstrapBrokers: brokers,
    deserializers: stringDeserializers,
    maxWaitTime: 200,
  });
  const stream = await consumer.consume({
    topics: [topic],
    mode: MessagesStreamModes.EARLIEST,
    autocommit: false,
  });
  const timer = setTimeout(() => void stream.close(), timeoutMs);
  const messages: StringMessage[] = [];
  try {
    for await (const message of stream) {
      messages.push(message);
      if (messages.length >= count) break;
    }
  } finally {
    clearTimeout(timer);
    await stream.close().catch(() => undefined);
    await consumer.close(true);
  }
  return messages;
}

const at = (messages: StringMessage[], partition: number, offset: number): StringMessage | undefined =>
  messages.find((m) => m.partition === partition && m.offset === BigInt(offset));

beforeAll(async () => {
  brokers = (await ensureKafka()).brokers;
  await ensureTopics(brokers, [orders, carts], { partitions: 3 });
  rest = await startKafkaRest({ brokers, users, port: 0 });
  kafka = new Kafka({ url: rest.url, username, password });
});

afterAll(async () => {
  await rest?.close();
  const admin = new Admin({ clientId: `kafka-rest-test-${run}`, bootstrapBrokers: brokers });
  await admin.deleteTopics({ topics: [orders, carts] }).finally(() => admin.close());
});

describe("startKafkaRest", () => {
  it("refuses invalid users, listing every problem, before it listens", async () => {
    const attempt = startKafkaRest({
      brokers,
      users: [
        { username: "workers", password: "", produce: ["order-placed"] },
        { username: "workers", password: "p", consume: ["*"] },
      ],
      port: 0,
    });
    await expect(attempt).rejects.toBeInstanceOf(ConfigError);
    await expect(attempt).rejects.toThrow(
      /users\.0\.password: is empty\n.*users\.1\.username: duplicate username "workers"/,
    );
  });

  it("refuses the single login of earlier versions (no users) instead of letting anyone in", async () => {
    const old = { brokers, username, password, port: 0 } as unknown as StartKafkaRestOptions;
    await expect(startKafkaRest(old)).rejects.toThrow(/users: Invalid input: expected array/);
  });
});

describe("produce through @upstash/kafka", () => {
  it("writes one message with key and headers and answers with the broker's offset", async () => {
    const producer = kafka.producer();
    const before = Date.now();
    const first = await producer.produce(
      orders,
      { orderId: "o-1" },
      { key: "o-1", headers: [{ key: "trace", value: "t1" }] },
    );
    const second = await producer.produce(orders, { orderId: "o-1", n: 2 }, { key: "o-1" });

    expect(first.topic).toBe(orders);
    expect(first.partition).toBe(partitionForKey(Buffer.from("o-1"), 3));
    expect(Number.isInteger(first.offset) && first.offset >= 0).toBe(true);
    expect(first.timestamp).toBeGreaterThanOrEqual(before);
    expect(second.partition).toBe(first.partition);
    expect(second.offset).toBe(first.offset + 1);

    const stored = at(await readBack(orders, second.offset + 1), first.partition, first.offset);
    expect(stored?.key).toBe("o-1");
    expect(JSON.parse(stored?.value ?? "null")).toEqual({ orderId: "o-1" });
    expect(stored?.headerEntries).toEqual([["trace", "t1"]]);
    expect(Number(stored?.timestamp)).toBe(first.timestamp);
  });

  it("writes a batch across topics and partitions; each answer is that message's real offset", async () => {
    // An explicit timestamp an hour back. (Kafka refuses a record more than 2^31 ms, ~24.8 days,
    // older than the first record of its batch: the answer is then 400-class `invalid timestamp`.)
    const anHourAgo = Date.now() - 3_600_000;
    const batch = [
      { topic: carts, value: "c0", key: "cart-a", headers: [{ key: "h", value: "1" }] },
      { topic: carts, value: "c1", partition: 1, key: "k1" },
      { topic: orders, value: JSON.stringify({ n: 1 }), partition: 2, key: "o-2" },
      {
        topic: carts,
        value: "c2",
        partition: 1,
        headers: [
          { key: "dup", value: "x" },
          { key: "dup", value: "y" },
        ],
      },
      { topic: carts, value: "c3", key: "cart-a", timestamp: anHourAgo },
      { topic: carts, value: "c4", partition: 1, key: "k4" },
    ];
    const answers = await kafka.producer().produceMany(batch);

    expect(answers).toHaveLength(batch.length);
    answers.forEach((a, i) => {
      expect(a.topic).toBe(batch[i]?.topic);
      const explicit = batch[i]?.partition;
      if (explicit !== undefined) expect(a.partition).toBe(explicit);
    });
    expect(answers[4]?.partition).toBe(answers[0]?.partition); // same key, same partition
    expect(answers[4]?.timestamp).toBe(anHourAgo);
    // Consecutive offsets within a partition, in request order.
    expect([answers[1]?.offset, answers[3]?.offset, answers[5]?.offset]).toEqual(
      [0, 1, 2].map((d) => (answers[1]?.offset ?? Number.NaN) + d),
    );
    expect(answers[4]?.offset).toBe(
      (answers[0]?.offset ?? Number.NaN) + (answers[0]?.partition === 1 ? 3 : 1),
    );

    const stored = await readBack(carts, 5);
    for (const [i, sent] of batch.entries()) {
      if (sent.topic !== carts) continue;
      const answer = answers[i];
      const message = at(stored, answer?.partition ?? -1, answer?.offset ?? -1);
      expect(message?.value, `message ${i}`).toBe(sent.value);
      expect(message?.key ?? undefined).toBe(sent.key);
      expect(message?.headerEntries).toEqual((sent.headers ?? []).map((h) => [h.key, h.value]));
    }
  });

  it("gives 200 concurrent requests, sent together, each its own real offset", async () => {
    const producer = kafka.producer();
    const sent = Array.from({ length: 200 }, (_, i) => ({ key: `concurrent-${i % 7}`, value: { i } }));
    const answers = await Promise.all(sent.map((m) => producer.produce(orders, m.value, { key: m.key })));
    // No two answers share an offset, and each names where its own message is.
    expect(new Set(answers.map((a) => `${a.partition}:${a.offset}`)).size).toBe(sent.length);
    const stored = await readBack(orders, 200 + 3); // and the 3 of the tests before
    for (const [i, answer] of answers.entries()) {
      expect(answer.partition).toBe(partitionForKey(Buffer.from(sent[i]?.key ?? ""), 3));
      const message = at(stored, answer.partition, answer.offset);
      expect(JSON.parse(message?.value ?? "null"), `message ${i}`).toEqual(sent[i]?.value);
      expect(message?.key).toBe(sent[i]?.key);
    }
  });

  it("lists topics with their partition counts", async () => {
    const topics = await kafka.admin().topics();
    expect(topics[orders]).toBe(3);
    expect(topics[carts]).toBe(3);
    expect(topics.__consumer_offsets).toBeUndefined();
  });

  it("fetches messages back by topic, partition and offset", async () => {
    const produced = await kafka.producer().produce(carts, "fetch-me", {
      partition: 0,
      key: "f",
      headers: [{ key: "a", value: "b" }],
    });
    const fetched = await kafka
      .consumer()
      .fetch({ topic: carts, partition: 0, offset: produced.offset, timeout: 500 });
    expect(fetched[0]).toEqual({
      ...produced,
      key: "f",
      value: "fetch-me",
      headers: [{ key: "a", value: "b" }],
    });
  });
});

// The client retries every failed request 5 times (about 15.5 s of back-off) before it throws, so
// these run concurrently.
describe.concurrent("failures", () => {
  it("rejects a wrong password with 401", async () => {
    const wrong = new Kafka({ url: rest.url, username, password: `${password}x` });
    const error = await wrong
      .producer()
      .produce(orders, "nope")
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UpstashError);
    expect((error as UpstashError).status).toBe(401);
  });

  it("rejects an unknown topic with a clear message", async () => {
    const error = await kafka
      .producer()
      .produce(`${orders}-missing`, "x")
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UpstashError);
    expect((error as UpstashError).status).toBe(404);
    expect((error as UpstashError).message).toBe(`topic "${orders}-missing" does not exist`);
  });

  it("answers 503 fast when Kafka is down", async () => {
    const down = await startKafkaRest({ brokers: ["127.0.0.1:9199"], users, port: 0 });
    try {
      const started = Date.now();
      const raw = await fetch(`${down.url}/produce`, {
        method: "POST",
        headers: { authorization: `Basic ${Buffer.from(`${username}:${password}`).toString("base64")}` },
        body: JSON.stringify({ topic: orders, value: "x" }),
      });
      expect(Date.now() - started).toBeLessThan(3000);
      expect(raw.status).toBe(503);
      expect(raw.headers.get("retry-after")).toBe("1");

      const client = new Kafka({ url: down.url, username, password });
      const error = await client
        .producer()
        .produce(orders, "x")
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(UpstashError);
      expect((error as UpstashError).status).toBe(503);
      expect((error as UpstashError).message).toMatch(
        /^Kafka is unavailable: .*ECONNREFUSED 127\.0\.0\.1:9199/,
      );
    } finally {
      await down.close();
    }
  });

  it("rejects a partition the topic does not have", async () => {
    const auth = `Basic ${Buffer.from(`${username}:${password}`).toString("base64")}`;
    const res = await fetch(`${rest.url}/produce`, {
      method: "POST",
      headers: { authorization: auth },
      body: JSON.stringify({ topic: orders, value: "x", partition: 7 }),
    });
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ status: 404, code: "partition_not_found" });
  });
});

describe("metrics", () => {
  const authorization = `Basic ${Buffer.from(`${username}:${password}`).toString("base64")}`;
  const withAuth = { headers: { authorization } };

  it("counts requests by route and status, and each produce request to Kafka with its messages", async () => {
    const before = await scrape(`${rest.url}/metrics`, withAuth);
    const producer = kafka.producer();
    await Promise.all(
      Array.from({ length: 20 }, (_, i) => producer.produce(orders, { i }, { key: `metrics-${i}` })),
    );
    const missing = await fetch(`${rest.url}/produce`, {
      method: "POST",
      headers: { authorization, "content-type": "application/json" },
      body: JSON.stringify({ topic: `kafka-rest-test-${run}-missing`, value: "x" }),
    });
    expect(missing.status).toBe(404);
    expect((await fetch(`${rest.url}/no-such-route`, withAuth)).status).toBe(404);
    const after = await scrape(`${rest.url}/metrics`, withAuth);

    const delta = (name: string, labels: Record<string, string> = {}) =>
      sumOf(after, name, labels) - sumOf(before, name, labels);
    const produceRoute = { method: "POST", route: "/produce" };
    expect(delta("kafka_rest_requests_total", { ...produceRoute, status: "200" })).toBe(20);
    expect(delta("kafka_rest_requests_total", { ...produceRoute, status: "404" })).toBe(1);
    expect(delta("kafka_rest_requests_total", { route: "unmatched", status: "404" })).toBe(1);
    expect(delta("kafka_rest_request_duration_seconds_count", produceRoute)).toBe(21);
    // The 20 messages went out in one or more produce requests (concurrent ones are sent together).
    expect(delta("kafka_rest_produce_batch_messages_sum")).toBe(20);
    const sends = delta("kafka_rest_produce_batch_messages_count");
    expect(sends).toBeGreaterThanOrEqual(1);
    expect(sends).toBeLessThanOrEqual(20);
    expect(delta("kafka_rest_produce_seconds_count", { outcome: "ok" })).toBe(sends);
    expect(delta("kafka_rest_produce_seconds_count", { outcome: "error" })).toBe(0);
  });

  it("keeps /metrics behind credentials granted metrics; /healthz and /readyz stay open", async () => {
    expect((await fetch(`${rest.url}/metrics`)).status).toBe(401);
    expect((await fetch(`${rest.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${rest.url}/readyz`)).status).toBe(200);
    const answer = await fetch(`${rest.url}/metrics`, withAuth);
    expect(answer.headers.get("content-type")).toContain("text/plain");
    const samples = parsePrometheus(await answer.text());
    expect(sumOf(samples, "kafka_rest_requests_total", { route: "/healthz", status: "200" })).toBeGreaterThan(
      0,
    );
  });
});
