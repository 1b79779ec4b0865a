import type { Hono } from "hono";
import type { AuthEnv } from "../auth.ts";
import { RestError } from "../errors.ts";
import type { OutgoingMessage } from "../kafka.ts";
import {
  type ProduceRequest,
  ProduceRequestSchema,
  TopicMessageSchema,
  TopicNameSchema,
} from "../schemas.ts";
import { jsonBody, parseOneOrMany, parseWith } from "./validation.ts";

function toOutgoing(m: ProduceRequest): OutgoingMessage {
  return {
    topic: m.topic,
    value: m.value,
    key: m.key ?? undefined,
    partition: m.partition ?? undefined,
    timestamp: m.timestamp ?? undefined,
    headers: m.headers ?? [],
  };
}

/**
 * Producer routes of the Upstash dialect. `@upstash/kafka` uses only `POST /produce` and reads the
 * answer as an array even for a single message (`produce()` returns `answer[0]`), so the body routes
 * always answer with an array, one entry per message in request order. A request is all or nothing:
 * one topic the user may not produce to refuses it whole (403).
 */
export function produceRoutes(app: Hono<AuthEnv>): void {
  app.post("/produce", async (c) => {
    const messages = parseOneOrMany(ProduceRequestSchema, await jsonBody(c), "produce request");
    return c.json(await c.var.access.kafka.produce(messages.map(toOutgoing)), 200);
  });

  app.post("/produce/:topic", async (c) => {
    const topic = parseWith(TopicNameSchema, c.req.param("topic"), "topic");
    const messages = parseOneOrMany(TopicMessageSchema, await jsonBody(c), "produce request").map((m) => {
      if (m.topic !== undefined && m.topic !== topic) {
        throw new RestError(
          400,
          "invalid_request",
          `message names topic "${m.topic}" but the path says "${topic}"`,
        );
      }
      return toOutgoing({ ...m, topic });
    });
    return c.json(await c.var.access.kafka.produce(messages), 200);
  });

  // The simplest variant (`curl .../produce/greetings/hello?key=k`): one message, one object back.
  app.on(["GET", "POST"], "/produce/:topic/:message", async (c) => {
    const topic = parseWith(TopicNameSchema, c.req.param("topic"), "topic");
    const key = c.req.query("key");
    const [record] = await c.var.access.kafka.produce([
      { topic, value: c.req.param("message"), key, headers: [] },
    ]);
    return c.json(record, 200);
  });
}
