import { type NeonQueryFunction, neon, neonConfig } from "@neondatabase/serverless";
import { Kafka } from "@upstash/kafka";
import { Redis } from "@upstash/redis";
import { drizzle, type NeonHttpDatabase } from "drizzle-orm/neon-http";
import * as schema from "../../db/schema/index.ts";
import { AppError } from "../../domain/errors.ts";
import type { Topic } from "../../domain/topics.ts";

/** Bindings every worker uses to reach its services; values come from `c.env`. */
export interface ServiceBindings {
  /** The state Redis: carts, checkout records, holds, limits, sessions, product entries. Never evicts. */
  UPSTASH_REDIS_REST_URL: string;
  UPSTASH_REDIS_REST_TOKEN: string;
  /** The cache Redis: catalog pages, categories, negative entries. May evict (least recently used). */
  CACHE_REDIS_REST_URL: string;
  CACHE_REDIS_REST_TOKEN: string;
  KAFKA_REST_URL: string;
  KAFKA_REST_USERNAME: string;
  KAFKA_REST_PASSWORD: string;
  DATABASE_URL: string;
  /** Local runs only: the endpoint that speaks Neon's HTTP and WebSocket protocols in front of PostgreSQL. */
  NEON_LOCAL_ENDPOINT?: string;
  /** Local runs only: put before every topic published to (`dev.`, a test run's own); production: none. */
  KAFKA_TOPIC_PREFIX?: string;
  /** Deadline of one Redis request, retries included (ms). */
  REDIS_TIMEOUT_MS?: string;
  /** Deadline of one Postgres query over HTTP (ms). */
  DATABASE_TIMEOUT_MS?: string;
}

/** Deadlines of outbound calls when the bindings do not set them: a hung dependency is a fast 503. */
export const DEFAULT_TIMEOUTS = { redisMs: 1_500, databaseMs: 2_500 } as const;

/** A positive integer setting, or the fallback when it is unset or not one. */
export const msSetting = (value: string | undefined, fallback: number): number => {
  const parsed = Number(value);
  return Number.isInteger(parsed) && parsed > 0 ? parsed : fallback;
};

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

/**
 * `raw`: values come back as Redis sent them, without JSON guessing (ids and counters round-trip
 * exactly). Every request gets its own deadline (`REDIS_TIMEOUT_MS`, retries included): the signal is
 * a function, evaluated per request, because an aborted shared signal would fail every later call.
 */
export const redisClient = (env: ServiceBindings, options: { raw?: boolean } = {}): Redis =>
  upstashRedis(env, env.UPSTASH_REDIS_REST_URL, env.UPSTASH_REDIS_REST_TOKEN, options);

/** The cache Redis (see ServiceBindings), as `redisClient` builds the state one. */
export const cacheRedisClient = (env: ServiceBindings): Redis =>
  upstashRedis(env, env.CACHE_REDIS_REST_URL, env.CACHE_REDIS_REST_TOKEN, {});

const upstashRedis = (
  env: ServiceBindings,
  url: string,
  token: string,
  options: { raw?: boolean },
): Redis => {
  const timeoutMs = msSetting(env.REDIS_TIMEOUT_MS, DEFAULT_TIMEOUTS.redisMs);
  return memo(
    `redis\n${url}\n${token}\n${Boolean(options.raw)}\n${timeoutMs}`,
    () =>
      new Redis({
        url,
        token,
        automaticDeserialization: !options.raw,
        // Replies as plain JSON, not base64 to decode: every value the project keeps in Redis is
        // UTF-8 text (ids, counters, JSON), and decoding showed in the checkout's CPU profile.
        responseEncoding: false,
        enableTelemetry: false,
        enableAutoPipelining: false,
        retry: { retries: 2, backoff: (attempt) => 25 * 2 ** attempt },
        signal: () => AbortSignal.timeout(timeoutMs),
      }),
  );
};

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

/** Publishes one event to `topic` (after the run's KAFKA_TOPIC_PREFIX), keyed for its partition. */
export const publishEvent = (env: ServiceBindings, topic: Topic, event: unknown, key: string) =>
  kafkaClient(env)
    .producer()
    .produce(`${env.KAFKA_TOPIC_PREFIX ?? ""}${topic}`, event, { key });

/**
 * Gives every Neon HTTP query a deadline (`DATABASE_TIMEOUT_MS`) and points the driver at the local
 * endpoint when one is configured; production keeps Neon's endpoints.
 */
export const configureNeon = (env: ServiceBindings): void => {
  const timeoutMs = msSetting(env.DATABASE_TIMEOUT_MS, DEFAULT_TIMEOUTS.databaseMs);
  neonConfig.fetchFunction = (input: RequestInfo | URL, init?: RequestInit) =>
    fetch(input, { ...init, signal: AbortSignal.timeout(timeoutMs) });
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

/** Runs a Postgres step; a failure or a missed deadline is 503 `dependency_unavailable`. */
export const withDb = async <T>(what: string, work: () => Promise<T>): Promise<T> => {
  try {
    return await work();
  } catch (error) {
    throw new AppError("dependency_unavailable", `${what} could not be reached`, {
      cause: error,
      retryAfter: 2,
    });
  }
};
