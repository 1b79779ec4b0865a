import { fileURLToPath } from "node:url";
import { Redis } from "ioredis";
import pg from "pg";
import { ensureTopics } from "../consumers/src/topics/ensure-topics.ts";
import { migrateDatabase } from "../db/migrate.ts";
import { prefixedTopics, WORKER_TOPICS } from "../domain/topics.ts";
import { startKafkaRest } from "../services/kafka-rest/src/server.ts";
import type { KafkaRestUser } from "../services/kafka-rest/src/users.ts";
import { ensureKafka } from "./kafka/broker.ts";
import { startNeonProxy } from "./neon/server.ts";
import { startPostgresServer } from "./postgres-server.ts";
import { freePort } from "./processes.ts";
import { startRedisRest } from "./redis-rest/server.ts";
import { startRedisServer } from "./redis-server.ts";

export const REPO_ROOT = fileURLToPath(new URL("..", import.meta.url));

export interface StackOptions {
  /** A running Redis to use; when it does not answer, a private redis-server is started on its port. */
  redisUrl: string;
  /** A PostgreSQL database to use; when the server does not answer, a private cluster is started on its port. */
  databaseUrl: string;
  /** Kafka bootstrap servers; when unset, a single-node KRaft broker is fetched and started on 127.0.0.1:9092. */
  kafkaBrokers?: string[];
  redisRestPort: number;
  redisRestToken: string;
  /**
   * The cache Redis (catalog pages, negative entries): one that may evict, apart from the state Redis
   * above, which never may. When nothing answers there, a private, non-persistent redis-server is
   * started on its port (0: any free port) with `cacheRedisMaxMemory` and allkeys-lru.
   */
  cacheRedisUrl: string;
  cacheRedisRestPort: number;
  cacheRedisRestToken: string;
  /** The cache Redis's memory budget (`maxmemory`), e.g. "64mb". */
  cacheRedisMaxMemory?: string;
  /** The password the stack gives the workers' Postgres role (`storefront_edge`, see db/migrations). */
  edgeDatabasePassword: string;
  neonPort: number;
  kafkaRestPort: number;
  /** The workers' Kafka REST login: it may produce the topics the workers publish, and nothing else. */
  kafkaRestUsername: string;
  kafkaRestPassword: string;
  /** The operators' login (Prometheus): `GET /metrics` only. */
  kafkaRestOpsUsername: string;
  kafkaRestOpsPassword: string;
  topicPartitions: number;
  /** This run's prefix of every Kafka topic and consumer group (`dev.`, `test-<id>.`, `bench-<id>.`). */
  topicPrefix: string;
  log?: (msg: string) => void;
}

export interface Stack {
  redisUrl: string;
  databaseUrl: string;
  /** `databaseUrl` as the workers' role, `storefront_edge`. */
  edgeDatabaseUrl: string;
  cacheRedisUrl: string;
  cacheRedisRestUrl: string;
  kafkaBrokers: string[];
  redisRestUrl: string;
  neonUrl: string;
  kafkaRestUrl: string;
  close(): Promise<void>;
}

const redisAnswers = async (url: string): Promise<boolean> => {
  const client = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: 1000,
  });
  // A refused connection is the answer (false), not an error to report.
  client.on("error", () => {});
  try {
    await client.connect();
    return (await client.ping()) === "PONG";
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
};

const postgresAnswers = async (url: string): Promise<boolean> => {
  const admin = new URL(url);
  admin.pathname = "/postgres";
  const client = new pg.Client({ connectionString: admin.toString(), connectionTimeoutMillis: 1000 });
  try {
    await client.connect();
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
};

const isLocal = (host: string): boolean => ["127.0.0.1", "localhost", "::1", "[::1]"].includes(host);

/**
 * The Kafka REST logins of a local stack, least privilege as in production: the workers produce the
 * three topics they publish (with this run's prefix) and read nothing; operators read /metrics.
 */
export const kafkaRestUsers = (
  options: Pick<
    StackOptions,
    | "kafkaRestUsername"
    | "kafkaRestPassword"
    | "kafkaRestOpsUsername"
    | "kafkaRestOpsPassword"
    | "topicPrefix"
  >,
): KafkaRestUser[] => [
  {
    username: options.kafkaRestUsername,
    password: options.kafkaRestPassword,
    produce: WORKER_TOPICS.map((topic) => `${options.topicPrefix}${topic}`),
  },
  { username: options.kafkaRestOpsUsername, password: options.kafkaRestOpsPassword, metrics: true },
];

/**
 * Gives the workers' role (created by the migrations, without a login) a login with `password`;
 * answers `databaseUrl` as that role.
 */
export const enableEdgeRole = async (databaseUrl: string, password: string): Promise<string> => {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const literal = (await client.query<{ q: string }>("select quote_literal($1) as q", [password])).rows[0]
      ?.q;
    await client.query(`alter role storefront_edge with login password ${literal}`);
  } finally {
    await client.end();
  }
  return edgeUrl(databaseUrl, password);
};

/** `databaseUrl` as the workers' role. */
export const edgeUrl = (databaseUrl: string, password: string): string => {
  const edge = new URL(databaseUrl);
  edge.username = "storefront_edge";
  edge.password = password;
  return edge.toString();
};

/**
 * The cache Redis: used as it is when it answers (a local one is given its memory budget and an
 * eviction policy), else a private one is started. Answers its URL.
 */
const ensureCacheRedis = async (
  options: StackOptions,
  log: (msg: string) => void,
  stops: Array<() => Promise<void>>,
): Promise<string> => {
  const url = new URL(options.cacheRedisUrl);
  const maxMemory = options.cacheRedisMaxMemory ?? "64mb";
  if (url.port !== "0" && (await redisAnswers(options.cacheRedisUrl))) {
    if (isLocal(url.hostname)) {
      const client = new Redis(options.cacheRedisUrl);
      try {
        await client.config("SET", "maxmemory", maxMemory, "maxmemory-policy", "allkeys-lru");
      } finally {
        client.disconnect();
      }
    }
    return options.cacheRedisUrl;
  }
  if (!isLocal(url.hostname)) throw new Error(`the cache Redis at ${options.cacheRedisUrl} does not answer`);
  const port = url.port === "0" ? await freePort() : Number(url.port || 6379);
  log(`starting the cache redis-server on ${port} (${maxMemory}, allkeys-lru)`);
  const server = await startRedisServer({
    port,
    dir: `${REPO_ROOT}.local/cache-redis-${port}`,
    args: ["--maxmemory", maxMemory, "--maxmemory-policy", "allkeys-lru"],
  });
  stops.push(server.stop);
  url.port = String(port);
  return url.toString().replace(/\/$/, "");
};

/**
 * Brings up everything the workers and consumers talk to: Redis, PostgreSQL (migrated), Kafka with the
 * system's topics, and the three local endpoints that speak the hosted services' protocols.
 * Services that already answer are used as they are; missing local ones are started here.
 */
export const startStack = async (options: StackOptions): Promise<Stack> => {
  const log = options.log ?? (() => undefined);
  const stops: Array<() => Promise<void>> = [];
  const close = async () => {
    for (const stop of stops.reverse()) await stop();
  };
  try {
    const redis = new URL(options.redisUrl);
    if (!(await redisAnswers(options.redisUrl))) {
      if (!isLocal(redis.hostname)) throw new Error(`Redis at ${options.redisUrl} does not answer`);
      log(`starting redis-server on ${redis.port || 6379}`);
      const server = await startRedisServer({
        port: Number(redis.port || 6379),
        dir: `${REPO_ROOT}.local/redis`,
      });
      stops.push(server.stop);
    }

    const database = new URL(options.databaseUrl);
    if (!(await postgresAnswers(options.databaseUrl))) {
      if (!isLocal(database.hostname)) throw new Error(`PostgreSQL at ${database.host} does not answer`);
      log(`starting PostgreSQL on ${database.port || 5432}`);
      const server = await startPostgresServer({
        port: Number(database.port || 5432),
        dataDir: `${REPO_ROOT}.local/postgres`,
      });
      stops.push(server.stop);
    }
    await migrateDatabase(options.databaseUrl);
    const edgeDatabaseUrl = await enableEdgeRole(options.databaseUrl, options.edgeDatabasePassword);
    const cacheRedisUrl = await ensureCacheRedis(options, log, stops);

    let kafkaBrokers = options.kafkaBrokers;
    if (!kafkaBrokers?.length) {
      const kafka = await ensureKafka({ log });
      kafkaBrokers = kafka.brokers;
      stops.push(kafka.stop);
    }
    await ensureTopics(kafkaBrokers, prefixedTopics(options.topicPrefix), {
      partitions: options.topicPartitions,
    });

    const redisRest = await startRedisRest({
      redisUrl: options.redisUrl,
      token: options.redisRestToken,
      port: options.redisRestPort,
    });
    stops.push(redisRest.close);
    const cacheRedisRest = await startRedisRest({
      redisUrl: cacheRedisUrl,
      token: options.cacheRedisRestToken,
      port: options.cacheRedisRestPort,
    });
    stops.push(cacheRedisRest.close);
    const neon = await startNeonProxy({ postgresUrl: options.databaseUrl, port: options.neonPort });
    stops.push(neon.close);
    const kafkaRest = await startKafkaRest({
      brokers: kafkaBrokers,
      users: kafkaRestUsers(options),
      port: options.kafkaRestPort,
    });
    stops.push(kafkaRest.close);

    return {
      redisUrl: options.redisUrl,
      databaseUrl: options.databaseUrl,
      edgeDatabaseUrl,
      cacheRedisUrl,
      cacheRedisRestUrl: cacheRedisRest.url,
      kafkaBrokers,
      redisRestUrl: redisRest.url,
      neonUrl: neon.url,
      kafkaRestUrl: kafkaRest.url,
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
};
