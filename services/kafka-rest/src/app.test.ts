import { describe, expect, it, vi } from "vitest";
import { createApp, MAX_BODY_BYTES } from "./app.ts";
import { RestError } from "./errors.ts";
import type { KafkaGateway, OutgoingMessage } from "./kafka.ts";
import { createRestMetrics } from "./metrics.ts";
import { KafkaRestUsersSchema } from "./users.ts";

// HTTP-level behaviour (auth, validation, error bodies) through app.request(). The gateway is a stub
// that records calls; everything that involves Kafka is tested against a real broker in server.test.ts.

function stubGateway(
  overrides: Partial<KafkaGateway> = {},
): KafkaGateway & { produced: OutgoingMessage[][]; asked: string[] } {
  const produced: OutgoingMessage[][] = [];
  const asked: string[] = [];
  return {
    produced,
    asked,
    produce: async (messages) => {
      produced.push(messages);
      return messages.map((m, i) => ({
        topic: m.topic,
        partition: 0,
        offset: i,
        timestamp: m.timestamp ?? 1,
      }));
    },
    topics: async () => ({ orders: 3 }),
    fetch: async () => {
      asked.push("fetch");
      return [];
    },
    offsets: async () => {
      asked.push("offsets");
      return [];
    },
    ping: async () => {},
    close: async () => {},
    ...overrides,
  };
}

const basic = (username: string, password: string) =>
  `Basic ${Buffer.from(`${username}:${password}`).toString("base64")}`;
const AUTH = basic("user", "secret");

const USERS = KafkaRestUsersSchema.parse([
  { username: "user", password: "secret", produce: ["orders", "carts"], consume: ["orders"] },
  // Like the workers: may write three topics of any run's prefix, and read nothing.
  {
    username: "workers",
    password: "w-secret",
    produce: ["*order-placed", "*cart-updated", "*catalog-updated"],
  },
  { username: "reader", password: "r-secret", consume: ["dev.*"] },
  { username: "operator", password: "o-secret", metrics: true },
]);
const WORKERS = basic("workers", "w-secret");
const READER = basic("reader", "r-secret");
const OPERATOR = basic("operator", "o-secret");

function setup(overrides: Partial<KafkaGateway> = {}) {
  const kafka = stubGateway(overrides);
  const onServerError = vi.fn();
  const app = createApp({ kafka, users: USERS, metrics: createRestMetrics(), onServerError });
  const post = (path: string, body: string, auth = AUTH) =>
    app.request(path, {
      method: "POST",
      headers: { authorization: auth, "content-type": "application/json" },
      body,
    });
  return { app, kafka, post, onServerError };
}

describe("auth", () => {
  it("answers 401 in the Upstash error shape without or with wrong credentials", async () => {
    const { app, post } = setup();
    for (const res of [
      await app.request("/topics"),
      await post("/produce", "{}", basic("user", "wrong")),
      await post("/produce", "{}", basic("other", "secret")),
      // Another user's password, and a user's password under a username that does not exist.
      await post("/produce", "{}", basic("user", "w-secret")),
      await post("/produce", "{}", basic("nobody", "w-secret")),
      await post("/produce", "{}", basic("", "")),
      await post("/produce", "{}", "Bearer secret"),
    ]) {
      expect(res.status).toBe(401);
      expect(res.headers.get("www-authenticate")).toMatch(/^Basic/);
      // One answer whatever was wrong: it never tells whether the username exists.
      expect(await res.json()).toEqual({
        error: "unauthorized: wrong or missing username/password",
        status: 401,
        code: "unauthorized",
      });
    }
  });

  it("lets /healthz through without credentials", async () => {
    expect((await setup().app.request("/healthz")).status).toBe(200);
  });
});

describe("permissions", () => {
  const forbiddenBody = (error: string) => ({ error: `forbidden: ${error}`, status: 403, code: "forbidden" });

  it("lets a produce-only user write to its topics, whatever the run's prefix", async () => {
    const { post, kafka } = setup();
    for (const topic of ["order-placed", "dev.order-placed", "t1a2b3.cart-updated", "catalog-updated"]) {
      const res = await post("/produce", JSON.stringify({ topic, value: "v" }), WORKERS);
      expect(res.status, topic).toBe(200);
    }
    expect(kafka.produced.flat().map((m) => m.topic)).toEqual([
      "order-placed",
      "dev.order-placed",
      "t1a2b3.cart-updated",
      "catalog-updated",
    ]);
  });

  it("answers 403 to a produce outside the grant on every produce route, and sends nothing", async () => {
    const { app, post, kafka } = setup();
    const message = JSON.stringify({ topic: "t1a2b3.payment-results", value: "paid" });
    for (const res of [
      await post("/produce", message, WORKERS),
      await post("/produce/t1a2b3.payment-results", JSON.stringify({ value: "paid" }), WORKERS),
      await app.request("/produce/t1a2b3.payment-results/paid", { headers: { authorization: WORKERS } }),
      // A dead-letter twin is another topic: `*order-placed` does not reach it.
      await post("/produce", JSON.stringify({ topic: "t1a2b3.order-placed.dlq", value: "x" }), WORKERS),
      // Reading a topic does not grant writing it.
      await post("/produce", JSON.stringify({ topic: "dev.order-placed", value: "x" }), READER),
    ]) {
      expect(res.status).toBe(403);
      expect(res.headers.get("www-authenticate")).toBeNull();
      expect(await res.json()).toMatchObject({ status: 403, code: "forbidden" });
    }
    expect(kafka.produced).toHaveLength(0);
    const res = await post("/produce", message, WORKERS);
    expect(await res.json()).toEqual(
      forbiddenBody('these credentials may not produce to "t1a2b3.payment-results"'),
    );
  });

  it("refuses a whole batch when one message names a topic outside the grant", async () => {
    const { post, kafka } = setup();
    const res = await post(
      "/produce",
      JSON.stringify([
        { topic: "dev.order-placed", value: "ok" },
        { topic: "dev.payment-results", value: "paid" },
        { topic: "dev.order-placed", value: "ok" },
        { topic: "dev.payment-results", value: "paid" },
      ]),
      WORKERS,
    );
    expect(res.status).toBe(403);
    expect(await res.json()).toEqual(
      forbiddenBody('these credentials may not produce to "dev.payment-results"'),
    );
    expect(kafka.produced).toHaveLength(0);
  });

  it("answers 403, not 404, for a topic outside the grant, so topic names cannot be probed", async () => {
    const { post } = setup({
      produce: async () => {
        throw new RestError(404, "topic_not_found", "no such topic");
      },
    });
    const forbidden = await post("/produce", JSON.stringify({ topic: "secret-topic", value: "x" }), WORKERS);
    expect(forbidden.status).toBe(403);
    const allowed = await post("/produce", JSON.stringify({ topic: "x.order-placed", value: "x" }), WORKERS);
    expect(allowed.status).toBe(404);
  });

  it("answers 403 to every read outside the grant, before Kafka is asked", async () => {
    const { post, kafka } = setup();
    const read = JSON.stringify({ topic: "dev.payment-results", partition: 0, offset: 0 });
    const offsets = JSON.stringify({ topic: "dev.payment-results", partition: 0 });
    for (const [path, body, auth] of [
      ["/fetch", read, WORKERS],
      ["/fetch", JSON.stringify({ topic: "dev.order-placed", partition: 0, offset: 0 }), WORKERS],
      ["/offsets/latest", offsets, WORKERS],
      ["/offsets/earliest", JSON.stringify([{ topic: "order-placed", partition: 0 }]), WORKERS],
      ["/fetch", read, OPERATOR],
      // One topic outside the grant among allowed ones refuses the whole read.
      [
        "/fetch",
        JSON.stringify({
          topicPartitionOffsets: [
            { topic: "dev.payment-results", partition: 0, offset: 0 },
            { topic: "orders", partition: 0, offset: 0 },
          ],
        }),
        READER,
      ],
      [
        "/offsets/latest",
        JSON.stringify([
          { topic: "dev.a", partition: 0 },
          { topic: "orders", partition: 1 },
        ]),
        READER,
      ],
    ] as const) {
      const res = await post(path, body, auth);
      expect(res.status, `${path} ${body}`).toBe(403);
      expect(await res.json()).toMatchObject({
        code: "forbidden",
        error: expect.stringMatching(/^forbidden: /),
      });
    }
    expect(kafka.asked).toEqual([]);

    expect((await post("/fetch", read, READER)).status).toBe(200);
    expect((await post("/offsets/latest", offsets, READER)).status).toBe(200);
    expect(kafka.asked).toEqual(["fetch", "offsets"]);
  });

  it("names every refused topic once", async () => {
    const res = await setup().post(
      "/fetch",
      JSON.stringify({
        topic: "orders",
        partition: 0,
        offset: 0,
        topicPartitionOffsets: [
          { topic: "payments", partition: 0, offset: 0 },
          { topic: "dev.ok", partition: 0, offset: 0 },
          { topic: "orders", partition: 1, offset: 0 },
        ],
      }),
      READER,
    );
    expect(await res.json()).toEqual(forbiddenBody('these credentials may not read "orders", "payments"'));
  });

  it("lists only the topics a user may produce to or consume", async () => {
    const { app } = setup({
      topics: async () => ({
        "dev.order-placed": 4,
        "dev.payment-results": 4,
        "order-placed": 3,
        "order-placed.dlq": 3,
        orders: 3,
      }),
    });
    const topics = async (authorization: string) =>
      (await app.request("/topics", { headers: { authorization } })).json();
    expect(await topics(WORKERS)).toEqual({ "dev.order-placed": 4, "order-placed": 3 });
    expect(await topics(READER)).toEqual({ "dev.order-placed": 4, "dev.payment-results": 4 });
    expect(await topics(AUTH)).toEqual({ orders: 3 });
    expect(await topics(OPERATOR)).toEqual({});
  });

  it("opens /metrics only to users granted metrics", async () => {
    const { app } = setup();
    const metrics = (authorization?: string) =>
      app.request("/metrics", authorization ? { headers: { authorization } } : {});
    const granted = await metrics(OPERATOR);
    expect(granted.status).toBe(200);
    expect(await granted.text()).toContain("kafka_rest_requests_total");
    expect((await metrics()).status).toBe(401);
    for (const authorization of [WORKERS, READER, AUTH]) {
      const res = await metrics(authorization);
      expect(res.status).toBe(403);
      expect(await res.json()).toEqual(forbiddenBody("these credentials may not read /metrics"));
    }
  });

  it("refuses the consumer-group routes to a user who may consume nothing", async () => {
    const { app, post } = setup();
    expect((await post("/consume/g/i", JSON.stringify({ topic: "dev.x" }), WORKERS)).status).toBe(403);
    expect((await app.request("/consumers", { headers: { authorization: OPERATOR } })).status).toBe(403);
    expect((await post("/commit/g/i", "{}", READER)).status).toBe(501);
  });
});

describe("produce validation", () => {
  it.each([
    ["not JSON", "{nope"],
    ["an empty body", ""],
    ["a value that is not a string", JSON.stringify({ topic: "orders", value: 3 })],
    ["no topic", JSON.stringify({ value: "x" })],
    ["an invalid topic name", JSON.stringify({ topic: "a b", value: "x" })],
    ["an empty batch", "[]"],
    ["a negative partition", JSON.stringify({ topic: "orders", value: "x", partition: -1 })],
    [
      "headers that are not key/value strings",
      JSON.stringify({ topic: "orders", value: "x", headers: [{ k: 1 }] }),
    ],
  ])("answers 400 to %s", async (_, body) => {
    const { post, kafka } = setup();
    const res = await post("/produce", body);
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({
      status: 400,
      code: "invalid_request",
      error: expect.any(String),
    });
    expect(kafka.produced).toHaveLength(0);
  });

  it("names the offending field", async () => {
    const res = await setup().post(
      "/produce",
      JSON.stringify([{ topic: "orders", value: "ok" }, { topic: "orders" }]),
    );
    expect((await res.json()).error).toMatch(/^invalid produce request: 1\.value: /);
  });

  it("answers 413 past the body limit", async () => {
    const res = await setup().post(
      "/produce",
      JSON.stringify({ topic: "orders", value: "x".repeat(MAX_BODY_BYTES) }),
    );
    expect(res.status).toBe(413);
  });

  it("rejects a message whose topic contradicts the path", async () => {
    const res = await setup().post("/produce/orders", JSON.stringify({ topic: "carts", value: "x" }));
    expect(res.status).toBe(400);
  });
});

describe("produce shapes", () => {
  it("answers POST /produce with an array even for one message (the client reads [0])", async () => {
    const { post, kafka } = setup();
    const res = await post(
      "/produce",
      JSON.stringify({ topic: "orders", value: "v", key: "k", headers: [{ key: "a", value: "b" }] }),
    );
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual([{ topic: "orders", partition: 0, offset: 0, timestamp: 1 }]);
    expect(kafka.produced[0]).toEqual([
      {
        topic: "orders",
        value: "v",
        key: "k",
        partition: undefined,
        timestamp: undefined,
        headers: [{ key: "a", value: "b" }],
      },
    ]);
  });

  it("takes the topic from the path on /produce/:topic and answers one object on /produce/:topic/:message", async () => {
    const { app, post, kafka } = setup();
    expect(
      await (await post("/produce/orders", JSON.stringify([{ value: "a" }, { value: "b" }]))).json(),
    ).toHaveLength(2);
    const res = await app.request("/produce/orders/hello%20there?key=k", {
      headers: { authorization: AUTH },
    });
    expect(await res.json()).toEqual({ topic: "orders", partition: 0, offset: 0, timestamp: 1 });
    expect(kafka.produced[1]?.[0]).toMatchObject({ topic: "orders", value: "hello there", key: "k" });
  });
});

describe("errors", () => {
  it("passes a gateway RestError through with its status, and 503 with Retry-After", async () => {
    const { post } = setup({
      produce: async () => {
        throw new RestError(503, "kafka_unavailable", "Kafka is unavailable: test");
      },
    });
    const res = await post("/produce", JSON.stringify({ topic: "orders", value: "x" }));
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("1");
    expect(await res.json()).toEqual({
      error: "Kafka is unavailable: test",
      status: 503,
      code: "kafka_unavailable",
    });
  });

  it("hides unexpected errors behind a generic 500 and reports them", async () => {
    const boom = new Error("secret detail");
    const { app, onServerError } = setup({
      topics: async () => {
        throw boom;
      },
    });
    const res = await app.request("/topics", { headers: { authorization: AUTH } });
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({ error: "internal error", status: 500, code: "internal" });
    expect(onServerError).toHaveBeenCalledWith(boom, "/topics");
  });

  it("answers 501 to consumer-group routes and 404 to unknown ones, in JSON", async () => {
    const { post } = setup();
    expect((await post("/consume/g/i", JSON.stringify({ topic: "orders" }))).status).toBe(501);
    const res = await post("/nope", "{}");
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ status: 404, code: "not_found" });
  });
});

describe("fetch validation", () => {
  it("needs topic, partition and offset together", async () => {
    const { post } = setup();
    expect((await post("/fetch", JSON.stringify({ topic: "orders", partition: 0 }))).status).toBe(400);
    expect((await post("/fetch", JSON.stringify({ timeout: 10 }))).status).toBe(400);
    expect((await post("/fetch", JSON.stringify({ topic: "orders", partition: 0, offset: 0 }))).status).toBe(
      200,
    );
  });
});
