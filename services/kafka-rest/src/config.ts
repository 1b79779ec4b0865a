import { z } from "zod";

const BrokerSchema = z.string().regex(/^[A-Za-z0-9.-]+:\d{1,5}$/, "expected host:port");

export const ConfigSchema = z.object({
  KAFKA_BROKERS: z
    .string({ error: "KAFKA_BROKERS is required (comma-separated host:port list)" })
    .transform((s) =>
      s
        .split(",")
        .map((b) => b.trim())
        .filter(Boolean),
    )
    .pipe(z.array(BrokerSchema).min(1, "KAFKA_BROKERS lists no broker")),
  KAFKA_REST_USERNAME: z.string({ error: "KAFKA_REST_USERNAME is required" }).min(1),
  KAFKA_REST_PASSWORD: z.string({ error: "KAFKA_REST_PASSWORD is required" }).min(1),
  PORT: z.coerce.number().int().min(0).max(65_535).default(8082),
  HOST: z.string().min(1).default("127.0.0.1"),
  /** Upper bound for the Kafka work behind one HTTP request. */
  KAFKA_REQUEST_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(5000),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace"]).default("info"),
});

export type Config = z.infer<typeof ConfigSchema>;

export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

/** Parses the environment; throws a ConfigError listing every problem. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const result = ConfigSchema.safeParse(env);
  if (result.success) return result.data;
  const problems = result.error.issues.map((i) => `  - ${i.path.join(".") || "env"}: ${i.message}`);
  throw new ConfigError(`invalid kafka-rest configuration:\n${problems.join("\n")}`);
}
