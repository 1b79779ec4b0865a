import { pino } from "pino";
import { z } from "zod";
import { startNeonProxy } from "./server.ts";

/**
 * `tsx local/neon/main.ts`: the local Neon endpoint on its own.
 *   DATABASE_URL      the real PostgreSQL (default postgres://postgres@127.0.0.1:5432/test)
 *   NEON_PROXY_PORT   where to listen (default 4444)
 *   NEON_PROXY_HOST   interface to listen on (default 127.0.0.1)
 *   LOG_LEVEL         pino level (default info; debug logs every request)
 */
const EnvSchema = z.object({
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, "must be a postgres:// URL")
    .default("postgres://postgres@127.0.0.1:5432/test"),
  NEON_PROXY_PORT: z.coerce.number().int().min(0).max(65_535).default(4444),
  NEON_PROXY_HOST: z.string().min(1).default("127.0.0.1"),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
});

const parsed = EnvSchema.safeParse(process.env);
if (!parsed.success) {
  console.error(`local/neon: invalid environment\n${z.prettifyError(parsed.error)}`);
  process.exit(1);
}
const env = parsed.data;
const logger = pino({ level: env.LOG_LEVEL, base: { service: "neon-local" } });

const proxy = await startNeonProxy({
  postgresUrl: env.DATABASE_URL,
  port: env.NEON_PROXY_PORT,
  host: env.NEON_PROXY_HOST,
  logger,
}).catch((error: unknown) => {
  logger.fatal({ err: error }, "could not start the local Neon endpoint");
  process.exit(1);
});

logger.info(
  {
    url: proxy.url,
    fetchEndpoint: `${proxy.url}/sql`,
    wsProxy: `${new URL(proxy.url).host}/v2?address=<host>:<port>`,
  },
  "point neonConfig at this endpoint (see local/neon/client-config.ts)",
);

const shutdown = (signal: NodeJS.Signals): void => {
  logger.info({ signal }, "shutting down");
  proxy.close().then(
    () => process.exit(0),
    (error: unknown) => {
      logger.error({ err: error }, "shutdown failed");
      process.exit(1);
    },
  );
};
process.once("SIGINT", shutdown);
process.once("SIGTERM", shutdown);
