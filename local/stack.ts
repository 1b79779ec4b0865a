import { fileURLToPath } from "node:url";
import { Redis } from "ioredis";
import pg from "pg";
import { ensureTopics } from "../consumers/src/topics/ensure-topics.ts";
import { migrateDatabase } from "../db/migrate.ts";
import { prefixedTopics } from "../domain/topics.ts";
import { startKafkaRest } from "../services/kafka-rest/src/server.ts";
import { ensureKafka } from "./kafka/broker.ts";
import { startNeonProxy } from "./neon/server.ts";
import { startPostgresServer } from "./postgres-server.ts";
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
  neonPort: number;
  kafkaRestPort: number;
  kafkaRestUsername: string;
  kafkaRestPassword: string;
  topicPartitions: number;
  /** This run's prefix of every Kafka topic and consumer group (`dev.`, `test-<id>.`, `bench-<id>.`). */
  topicPrefix: string;
  log?: (msg: string) => void;
}

export interface Stack {
  redisUrl: string;
  databaseUrl: string;
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
    const neon = await startNeonProxy({ postgresUrl: options.databaseUrl, port: options.neonPort });
    stops.push(neon.close);
    const kafkaRest = await startKafkaRest({
      brokers: kafkaBrokers,
      username: options.kafkaRestUsername,
      password: options.kafkaRestPassword,
      port: options.kafkaRestPort,
    });
    stops.push(kafkaRest.close);

    return {
      redisUrl: options.redisUrl,
      databaseUrl: options.databaseUrl,
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
