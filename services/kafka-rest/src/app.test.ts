import { describe, expect, it, vi } from "vitest";
import { createApp, MAX_BODY_BYTES } from "./app.ts";
import { RestError } from "./errors.ts";
import type { KafkaGateway, OutgoingMessage } from "./kafka.ts";

// HTTP-level behaviour (auth, validation, error bodies) through app.request(). The gateway is a stub
// that records calls; everything that involves Kafka is tested against a real broker in server.test.ts.

function stubGateway(
  overrides: Partial<KafkaGateway> = {},
): KafkaGateway & { produced: OutgoingMessage[][] } {
  const produced: OutgoingMessage[][] = [];
  return {
    produced,
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
    fetch: async () => [],
    offsets: async () => [],
    ping: async () => {},
    close: async () => {},
    ...overrides,
  };
}

const AUTH = `Basic ${Buffer.from("user:secret").toString("base64")}`;

function setup(overrides: Partial<KafkaGateway> = {}) {
  const kafka = stubGateway(overrides);
  const onServerError = vi.fn();
  const app = createApp({ kafka, username: "user", password: "secret", onServerError });
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
      await post("/produce", "{}", `Basic ${Buffer.from("user:wrong").toString("base64")}`),
      await post("/produce", "{}", `Basic ${Buffer.from("other:secret").toString("base64")}`),
      await post("/produce", "{}", "Bearer secret"),
    ]) {
      expect(res.status).toBe(401);
      expect(res.headers.get("www-authenticate")).toMatch(/^Basic/);
      expect(await res.json()).toEqual({
        error: expect.stringMatching(/^unauthorized/),
        status: 401,
        code: "unauthorized",
      });
    }
  });

  it("lets /healthz through without credentials", async () => {
    expect((await setup().app.request("/healthz")).status).toBe(200);
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
