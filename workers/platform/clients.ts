import { type NeonQueryFunction, neon, neonConfig } from "@neondatabase/serverless";
import { Kafka } from "@upstash/kafka";
import { Redis } from "@upstash/redis";
import { drizzle, type NeonHttpDatabase } from "drizzle-orm/neon-http";
import * as schema from "../../db/schema/index.ts";

/** Bindings every worker uses to reach its services; values come from `c.env`, never module state. */
export interface ServiceBindings {
  UPSTASH_REDIS_REST_URL: string;
  UPSTASH_REDIS_REST_TOKEN: string;
  KAFKA_REST_URL: string;
  KAFKA_REST_USERNAME: string;
  KAFKA_REST_PASSWORD: string;
  DATABASE_URL: string;
  /** Local runs only: the endpoint that speaks Neon's HTTP and WebSocket protocols in front of PostgreSQL. */
  NEON_LOCAL_ENDPOINT?: string;
}

/** `raw`: values come back as Redis sent them, without JSON guessing (ids and counters round-trip exactly). */
export const redisClient = (env: ServiceBindings, options: { raw?: boolean } = {}): Redis =>
  new Redis({
    url: env.UPSTASH_REDIS_REST_URL,
    token: env.UPSTASH_REDIS_REST_TOKEN,
    automaticDeserialization: !options.raw,
    enableTelemetry: false,
    retry: { retries: 2, backoff: (attempt) => 25 * 2 ** attempt },
  });

export const kafkaClient = (env: ServiceBindings): Kafka =>
  new Kafka({
    url: env.KAFKA_REST_URL,
    username: env.KAFKA_REST_USERNAME,
    password: env.KAFKA_REST_PASSWORD,
  });

/** Points the Neon driver at the local endpoint when one is configured; production leaves the defaults. */
export const configureNeon = (env: ServiceBindings): void => {
  const local = env.NEON_LOCAL_ENDPOINT;
  if (!local) return;
  const endpoint = new URL(local);
  neonConfig.fetchEndpoint = `${endpoint.origin}/sql`;
  neonConfig.wsProxy = (host, port) => `${endpoint.host}/v2?address=${host}:${port}`;
  neonConfig.useSecureWebSocket = endpoint.protocol === "https:";
  neonConfig.pipelineConnect = false;
};

export const sqlClient = (env: ServiceBindings): NeonQueryFunction<false, false> => {
  configureNeon(env);
  return neon(env.DATABASE_URL);
};

export type EdgeDb = NeonHttpDatabase<typeof schema>;

export const dbClient = (env: ServiceBindings): EdgeDb => drizzle({ client: sqlClient(env), schema });
