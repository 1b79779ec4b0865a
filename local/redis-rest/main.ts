/**
 * CLI: the local Upstash-Redis-REST endpoint in front of a real Redis.
 *   REDIS_URL=redis://127.0.0.1:6379 UPSTASH_REDIS_REST_TOKEN=... REDIS_REST_PORT=8079 tsx local/redis-rest/main.ts
 * Point the workers at it with UPSTASH_REDIS_REST_URL=http://127.0.0.1:8079 and the same token.
 */
import pino from "pino";
import { z } from "zod";
import { DEFAULT_REDIS_REST_PORT, startRedisRest } from "./server.ts";

/** Only accepted when the endpoint listens on loopback; anything reachable from elsewhere needs a real token. */
const DEV_TOKEN = "local-dev-redis-rest-token";

const LOOPBACK = new Set(["127.0.0.1", "localhost", "::1"]);

const EnvSchema = z
  .object({
    REDIS_URL: z
      .url({ protocol: /^rediss?$/, error: "must be a redis:// or rediss:// URL" })
      .default("redis://127.0.0.1:6379"),
    UPSTASH_REDIS_REST_TOKEN: z.string().trim().min(1).optional(),
    REDIS_REST_PORT: z.coerce.number().int().min(0).max(65_535).default(DEFAULT_REDIS_REST_PORT),
    REDIS_REST_HOST: z.string().min(1).default("127.0.0.1"),
  })
  .refine((env) => env.UPSTASH_REDIS_REST_TOKEN !== undefined || LOOPBACK.has(env.REDIS_REST_HOST), {
    path: ["UPSTASH_REDIS_REST_TOKEN"],
    message: "required when REDIS_REST_HOST is not a loopback address",
  });

const main = async (): Promise<void> => {
  const logger = pino({ name: "redis-rest" });
  const parsed = EnvSchema.safeParse(process.env);
  if (!parsed.success) {
    logger.fatal({ issues: parsed.error.issues }, `invalid environment:\n${z.prettifyError(parsed.error)}`);
    process.exitCode = 1;
    return;
  }
  const env = parsed.data;
  const token = env.UPSTASH_REDIS_REST_TOKEN ?? DEV_TOKEN;
  if (env.UPSTASH_REDIS_REST_TOKEN === undefined) {
    logger.warn({ token }, "UPSTASH_REDIS_REST_TOKEN is not set; using the local development token");
  }
  const redisUrl = new URL(env.REDIS_URL);
  redisUrl.password = redisUrl.password ? "***" : "";

  const server = await startRedisRest({
    redisUrl: env.REDIS_URL,
    token,
    port: env.REDIS_REST_PORT,
    host: env.REDIS_REST_HOST,
    logger,
  });
  logger.info({ url: server.url, redis: redisUrl.toString() }, "redis REST endpoint listening");

  const shutdown = (signal: NodeJS.Signals) => {
    logger.info({ signal }, "shutting down");
    // A second signal, or a close that hangs, ends the process anyway.
    setTimeout(() => process.exit(1), 5_000).unref();
    server.close().then(
      () => logger.info("stopped"),
      (error: unknown) => {
        logger.error({ err: error }, "shutdown failed");
        process.exitCode = 1;
      },
    );
  };
  process.once("SIGINT", shutdown);
  process.once("SIGTERM", shutdown);
};

main().catch((error: unknown) => {
  pino({ name: "redis-rest" }).fatal({ err: error }, "redis REST endpoint failed to start");
  process.exitCode = 1;
});
