import type { Hono } from "hono";
import type { AuthEnv } from "../auth.ts";
import { FetchBodySchema, OffsetsBodySchema, OffsetsTimestampSchema } from "../schemas.ts";
import { jsonBody, parseWith } from "./validation.ts";

const DEFAULT_FETCH_WAIT_MS = 1000;

/**
 * Topic listing, offset lookup and the group-less `/fetch` of the Upstash dialect. `/topics` lists the
 * topics the user may produce to or consume; offsets and records only of topics it may consume (403).
 */
export function readRoutes(app: Hono<AuthEnv>): void {
  app.get("/topics", async (c) => c.json(await c.var.access.kafka.topics(), 200));

  app.post("/fetch", async (c) => {
    const body = parseWith(FetchBodySchema, await jsonBody(c), "fetch request");
    const targets = [...(body.topicPartitionOffsets ?? [])];
    if (body.topic !== undefined && body.partition !== undefined && body.offset !== undefined) {
      targets.push({ topic: body.topic, partition: body.partition, offset: body.offset });
    }
    return c.json(await c.var.access.kafka.fetch(targets, body.timeout ?? DEFAULT_FETCH_WAIT_MS), 200);
  });

  app.post("/offsets/:timestamp", async (c) => {
    const at = parseWith(OffsetsTimestampSchema, c.req.param("timestamp"), "timestamp");
    const body = parseWith(OffsetsBodySchema, await jsonBody(c), "offsets request");
    const partitions = Array.isArray(body) ? body : [body];
    const spec = at === "earliest" || at === "latest" ? at : Number(at);
    return c.json(await c.var.access.kafka.offsets(partitions, spec), 200);
  });
}
