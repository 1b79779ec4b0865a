import { createHash, timingSafeEqual } from "node:crypto";
import { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import { type Context, Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { Logger } from "pino";
import pino from "pino";
import { ENCODING_HEADER, type RedisReply, SYNC_TOKEN_HEADER, toOutcome, wantsBase64 } from "./protocol.ts";
import { createRedisExecutor, type RedisExecutor } from "./redis-executor.ts";
import {
  parseCommandBody,
  parseCommandListBody,
  parseJson,
  parsePathCommand,
  TOKEN_QUERY_PARAM,
} from "./request.ts";
import { RestError } from "./rest-error.ts";
import { withUpstashScriptFlags } from "./script-flags.ts";

export const DEFAULT_REDIS_REST_PORT = 8079;
/** A generous bound on one request body for local runs (Redis itself caps a value at 512 MB). */
const MAX_BODY_BYTES = 100 * 1024 * 1024;

export interface RedisRestOptions {
  redisUrl: string;
  token: string;
  /** 0 picks any free port. Default 8079. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  logger?: Logger;
}

export interface RedisRestServer {
  url: string;
  close(): Promise<void>;
}

const digest = (value: string): Buffer => createHash("sha256").update(value).digest();

/** Constant-time token check: compares fixed-length digests, so neither content nor length leaks. */
const tokenChecker = (token: string) => {
  const expected = digest(token);
  return (candidate: string | undefined): boolean =>
    candidate !== undefined && timingSafeEqual(digest(candidate), expected);
};

const bearerToken = (authorization: string | undefined): string | undefined => {
  const match = authorization?.match(/^Bearer\s+(.+)$/i);
  return match?.[1]?.trim();
};

const respond = (c: Context, reply: RedisReply): Response => {
  const outcome = toOutcome(reply, wantsBase64(c.req.header(ENCODING_HEADER)));
  return c.json(outcome, "error" in outcome ? 400 : 200);
};

const respondAll = (c: Context, replies: RedisReply[]): Response => {
  const base64 = wantsBase64(c.req.header(ENCODING_HEADER));
  return c.json(replies.map((reply) => toOutcome(reply, base64)));
};

const first = (replies: RedisReply[]): RedisReply => {
  const [reply] = replies;
  if (reply === undefined) throw new RestError(500, "no reply for the command");
  return reply;
};

/** The Hono app of the endpoint; `startRedisRest` serves it over HTTP. */
export const createRedisRestApp = (deps: {
  token: string;
  executor: RedisExecutor;
  logger: Logger;
}): Hono => {
  const { executor, logger } = deps;
  const isValidToken = tokenChecker(deps.token);
  // One Redis primary, so every write is visible to the next read: any increasing token answers read-your-writes.
  // This one counts the authorized requests served, one per HTTP request (a pipeline is one): the
  // benchmarks read it to count REST round trips.
  let syncToken = 0;
  const app = new Hono();

  app.onError((error, c) => {
    if (error instanceof RestError) {
      if (error.status >= 500) logger.warn({ err: error.cause ?? error }, error.message);
      return c.json({ error: error.message }, error.status);
    }
    logger.error({ err: error, path: c.req.path }, "unhandled error");
    return c.json({ error: `ERR internal error of the local REST endpoint: ${error.message}` }, 500);
  });

  app.use("*", async (c, next) => {
    const token = bearerToken(c.req.header("authorization")) ?? c.req.query(TOKEN_QUERY_PARAM);
    if (!isValidToken(token)) return c.json({ error: "Unauthorized" }, 401);
    syncToken += 1;
    c.header(SYNC_TOKEN_HEADER, String(syncToken));
    await next();
  });

  app.use(
    "*",
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: (c) => c.json({ error: `ERR request body larger than ${MAX_BODY_BYTES} bytes` }, 413),
    }),
  );

  app.post("/", async (c) => {
    const command = parseCommandBody(parseJson(await c.req.text()));
    return respond(c, first(await executor.pipeline([command])));
  });

  app.post("/pipeline", async (c) => {
    const commands = parseCommandListBody(parseJson(await c.req.text()));
    return respondAll(c, await executor.pipeline(commands));
  });

  app.post("/multi-exec", async (c) => {
    const commands = parseCommandListBody(parseJson(await c.req.text()));
    return respondAll(c, await executor.transaction(commands));
  });

  app.on(["GET", "HEAD", "POST", "PUT"], "/*", async (c) => {
    const url = new URL(c.req.url);
    const hasBody = c.req.method === "POST" || c.req.method === "PUT";
    const body = hasBody ? Buffer.from(await c.req.arrayBuffer()) : undefined;
    const command = parsePathCommand(url.pathname, url.searchParams, body);
    return respond(c, first(await executor.pipeline([command])));
  });

  app.all("*", (c) => c.json({ error: `ERR method ${c.req.method} is not allowed` }, 405));
  return app;
};

const formatUrl = (host: string, port: number): string =>
  `http://${host.includes(":") ? `[${host}]` : host}:${port}`;

/** Starts the local Upstash-Redis-REST endpoint in front of the Redis at `redisUrl`. */
export const startRedisRest = async (opts: RedisRestOptions): Promise<RedisRestServer> => {
  if (opts.token.length === 0) throw new Error("the REST token must not be empty");
  const host = opts.host ?? "127.0.0.1";
  const logger = opts.logger ?? pino({ level: "silent" });
  // Upstash accepts `#!lua flags=allow-key-locking` (as @upstash/ratelimit sends it); Redis needs it removed.
  const executor = withUpstashScriptFlags(createRedisExecutor(opts.redisUrl, { logger }));
  const app = createRedisRestApp({ token: opts.token, executor, logger });

  const port = opts.port ?? DEFAULT_REDIS_REST_PORT;
  // Idle keep-alive connections stay open longer than clients keep them, so a client never reuses
  // one the server is closing (the request would fail and be retried: two round trips for one).
  const server = serve({
    fetch: app.fetch,
    port,
    hostname: host,
    serverOptions: { keepAliveTimeout: 65_000 },
  });
  const address = await new Promise<AddressInfo>((resolve, reject) => {
    server.once("error", reject);
    server.once("listening", () => {
      const bound = server.address();
      if (bound === null || typeof bound === "string")
        reject(new Error(`unexpected server address ${bound}`));
      else resolve(bound);
    });
  }).catch(async (error: unknown) => {
    await executor.close();
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(`the Redis REST endpoint could not listen on ${host}:${port}: ${reason}`, {
      cause: error,
    });
  });

  const stop = async (): Promise<void> => {
    await new Promise<void>((resolve, reject) => {
      server.close((error) => (error ? reject(error) : resolve()));
      // Keep-alive connections from fetch would hold close() open; requests in flight get 2 s to finish.
      if (server instanceof Server) server.closeIdleConnections();
      const force = setTimeout(() => server instanceof Server && server.closeAllConnections(), 2_000);
      force.unref();
    });
    await executor.close();
  };
  let stopping: Promise<void> | undefined;
  const close = (): Promise<void> => {
    stopping ??= stop();
    return stopping;
  };

  return { url: formatUrl(host, address.port), close };
};
