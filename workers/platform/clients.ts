import { type NeonQueryFunction, neon, neonConfig } from "@neondatabase/serverless";
import { Kafka } from "@upstash/kafka";
import { Redis } from "@upstash/redis";
import { drizzle, type NeonHttpDatabase } from "drizzle-orm/neon-http";
import * as schema from "../../db/schema/index.ts";

/** Bindings every worker uses to reach its services; values come from `c.env`. */
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

/**
 * One client per configuration and isolate, built on first use. The clients hold no connection or
 * request state (each call is its own HTTP request), and building one is not free: the Redis client
 * alone defines a method per command, which profiling showed as a large share of a cart request's CPU.
 * Keyed by the binding values themselves, so a changed binding gets a new client.
 */
const clients = new Map<string, unknown>();
const memo = <T>(key: string, build: () => T): T => {
  let client = clients.get(key) as T | undefined;
  if (client === undefined) {
    client = build();
    clients.set(key, client);
  }
  return client;
};

/** `raw`: values come back as Redis sent them, without JSON guessing (ids and counters round-trip exactly). */
export const redisClient = (env: ServiceBindings, options: { raw?: boolean } = {}): Redis =>
  memo(
    `redis\n${env.UPSTASH_REDIS_REST_URL}\n${env.UPSTASH_REDIS_REST_TOKEN}\n${Boolean(options.raw)}`,
    () =>
      new Redis({
        url: env.UPSTASH_REDIS_REST_URL,
        token: env.UPSTASH_REDIS_REST_TOKEN,
        automaticDeserialization: !options.raw,
        enableTelemetry: false,
        enableAutoPipelining: false,
        retry: { retries: 2, backoff: (attempt) => 25 * 2 ** attempt },
      }),
  );

export const kafkaClient = (env: ServiceBindings): Kafka =>
  memo(
    `kafka\n${env.KAFKA_REST_URL}\n${env.KAFKA_REST_USERNAME}\n${env.KAFKA_REST_PASSWORD}`,
    () =>
      new Kafka({
        url: env.KAFKA_REST_URL,
        username: env.KAFKA_REST_USERNAME,
        password: env.KAFKA_REST_PASSWORD,
      }),
  );

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

export const dbClient = (env: ServiceBindings): EdgeDb =>
  memo(`db\n${env.DATABASE_URL}\n${env.NEON_LOCAL_ENDPOINT ?? ""}`, () =>
    drizzle({ client: sqlClient(env), schema }),
  );
