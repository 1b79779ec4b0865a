import { z } from "zod";
import { checkKafkaSecurity, KafkaConnectionShape } from "../../kafka-client/security.ts";
import { KafkaRestUsersJsonSchema } from "./users.ts";

/**
 * The one all-powerful login of earlier versions. Still set, it would suggest a login that no longer
 * exists (or one that could read every topic): refused, so the deployment is fixed instead.
 */
const retired = (name: string) =>
  z
    .undefined({ error: `${name} is no longer read: list every login in KAFKA_REST_USERS (see README)` })
    .optional();

export const ConfigSchema = z.object({
  /** KAFKA_BROKERS, and the SASL login and TLS of a managed cluster (services/kafka-client). */
  ...KafkaConnectionShape,
  /** Every login and its grants, as JSON (see README). */
  KAFKA_REST_USERS: KafkaRestUsersJsonSchema,
  KAFKA_REST_USERNAME: retired("KAFKA_REST_USERNAME"),
  KAFKA_REST_PASSWORD: retired("KAFKA_REST_PASSWORD"),
  PORT: z.coerce.number().int().min(0).max(65_535).default(8082),
  HOST: z.string().min(1).default("127.0.0.1"),
  /** Upper bound for the Kafka work behind one HTTP request. */
  KAFKA_REQUEST_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(5000),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace"]).default("info"),
});

export type Config = z.infer<typeof ConfigSchema>;

const CheckedConfigSchema = ConfigSchema.superRefine(checkKafkaSecurity);

export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

/** Parses the environment; throws a ConfigError listing every problem. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const result = CheckedConfigSchema.safeParse(env);
  if (result.success) return result.data;
  throw configError(result.error);
}

/**
 * A ConfigError listing every issue under its path (`KAFKA_REST_USERS.1.password: is empty`), the
 * paths put `under` a name when the value parsed was not the environment.
 */
export function configError(error: z.ZodError, under?: string): ConfigError {
  const problems = error.issues.map((i) => {
    const path = under === undefined ? i.path : [under, ...i.path];
    return `  - ${path.join(".") || "env"}: ${i.message}`;
  });
  return new ConfigError(`invalid kafka-rest configuration:\n${problems.join("\n")}`);
}
