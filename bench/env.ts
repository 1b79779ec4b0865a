import { rmSync } from "node:fs";
import { createInterface } from "node:readline";
import pg from "pg";
import { seedCatalog } from "../db/seed.ts";
import { brokerPid } from "../local/kafka/broker.ts";
import { kafkaProcesses } from "../local/kafka/process.ts";
import { deleteRunTopics, runPrefix } from "../local/kafka/run-topics.ts";
import { startPostgresServer } from "../local/postgres-server.ts";
import { freePort, type Managed, spawnManaged } from "../local/processes.ts";
import { startRedisServer } from "../local/redis-server.ts";
import type { Stack, StackOptions } from "../local/stack.ts";
import { kafkaRestUsers, REPO_ROOT } from "../local/stack.ts";
import { bundleWorkers } from "../local/test-setup.ts";
import { startWorkers, type Workers } from "../local/workers.ts";
import type { CpuComponent } from "./cpu.ts";

/** Credentials of the benchmark's throwaway stack; they guard loopback ports for one run. */
const SECRETS = {
  redisRestToken: "bench-redis-token",
  cacheRedisRestToken: "bench-cache-redis-token",
  edgeDatabasePassword: "bench-edge-password",
  kafkaRestUsername: "storefront-bench",
  kafkaRestPassword: "bench-kafka-password",
  kafkaRestOpsUsername: "ops-bench",
  kafkaRestOpsPassword: "bench-kafka-ops-password",
  adminToken: "bench-admin-token",
} as const;

export interface BenchEnv {
  /** Storefront base URL (the public API; checkout behind its service binding). */
  url: string;
  adminToken: string;
  databaseUrl: string;
  redisUrl: string;
  redisPort: number;
  redisRestUrl: string;
  redisRestToken: string;
  /** Kafka REST and the workers' login (the pipeline scenario produces orders as checkout does). */
  kafkaRestUrl: string;
  kafkaRestUsername: string;
  kafkaRestPassword: string;
  kafkaBrokers: string[];
  /** This run's prefix of every Kafka topic and consumer group (`bench-<id>.`). */
  kafkaTopicPrefix: string;
  /** The processes of the stack, for CPU accounting (`cpuMeter`). */
  cpuComponents: CpuComponent[];
  close(): Promise<void>;
}

const say = (msg: string) => console.log(`[bench] ${msg}`);

/** Spawns a Node child that prints a line starting with `marker`; resolves with the rest of that line. */
const spawnUntil = (
  args: string[],
  env: NodeJS.ProcessEnv,
  marker: string | RegExp,
  timeoutMs: number,
): Promise<{ managed: Managed; line: string }> =>
  new Promise((resolve, reject) => {
    const managed = spawnManaged(process.execPath, args, {
      cwd: REPO_ROOT,
      env,
      stdio: ["ignore", "pipe", "inherit"],
    });
    const timer = setTimeout(() => {
      void managed.stop();
      reject(new Error(`${args.join(" ")} did not get ready in ${timeoutMs} ms`));
    }, timeoutMs);
    const lines = createInterface({ input: managed.child.stdout as NodeJS.ReadableStream });
    lines.on("line", (line) => {
      const matched = typeof marker === "string" ? line.startsWith(marker) : marker.test(line);
      if (!matched) return;
      clearTimeout(timer);
      resolve({ managed, line: typeof marker === "string" ? line.slice(marker.length) : line });
    });
    managed.child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${args.join(" ")} exited with code ${code} before it was ready`));
    });
  });

/**
 * A stack of its own for one benchmark run: a fresh PostgreSQL cluster (with pg_stat_statements, so
 * scenarios count the queries that reached it) and a fresh Redis on free ports, the local endpoints
 * in a child process, both workers bundled as `wrangler deploy` builds them in Miniflare, and every
 * consumer in one child process, as `npm run consumers -- all` runs them. Kafka is the local broker
 * (started if needed); this run's topics and consumer groups carry its own prefix.
 */
export const startBenchEnv = async (opts: { seedCount: number }): Promise<BenchEnv> => {
  const stops: Array<() => Promise<void>> = [];
  const close = async () => {
    for (const stop of stops.reverse()) await stop().catch((error: unknown) => say(`stop failed: ${error}`));
  };
  try {
    const pgDir = `${REPO_ROOT}.local/bench-postgres`;
    rmSync(pgDir, { recursive: true, force: true });
    const postgres = await startPostgresServer({
      port: await freePort(),
      dataDir: pgDir,
      settings: {
        shared_preload_libraries: "pg_stat_statements",
        "pg_stat_statements.track": "all",
        shared_buffers: "256MB",
        max_wal_size: "4GB",
      },
    });
    stops.push(async () => {
      await postgres.stop();
      rmSync(pgDir, { recursive: true, force: true });
    });
    const databaseUrl = postgres.url.replace(/\/postgres$/, "/storefront_bench");
    const admin = new pg.Client({ connectionString: postgres.url });
    await admin.connect();
    await admin.query("create database storefront_bench");
    await admin.end();

    const redisPort = await freePort();
    const redis = await startRedisServer({ port: redisPort, dir: `${REPO_ROOT}.local/bench-redis` });
    stops.push(redis.stop);
    const cacheRedis = await startRedisServer({
      port: await freePort(),
      dir: `${REPO_ROOT}.local/bench-cache-redis`,
      args: ["--maxmemory", "64mb", "--maxmemory-policy", "allkeys-lru"],
    });
    stops.push(cacheRedis.stop);

    // Topics and consumer groups of this run only, deleted after it: a dev stack or a test run on the
    // same broker never sees the benchmark's orders, nor it theirs.
    const kafkaTopicPrefix = runPrefix("bench");
    const options: Omit<StackOptions, "log"> = {
      redisUrl: redis.url,
      databaseUrl,
      kafkaBrokers: process.env.KAFKA_BROKERS?.split(",").filter(Boolean),
      redisRestPort: await freePort(),
      redisRestToken: SECRETS.redisRestToken,
      cacheRedisUrl: cacheRedis.url,
      cacheRedisRestPort: await freePort(),
      cacheRedisRestToken: SECRETS.cacheRedisRestToken,
      edgeDatabasePassword: SECRETS.edgeDatabasePassword,
      neonPort: await freePort(),
      kafkaRestPort: await freePort(),
      kafkaRestUsername: SECRETS.kafkaRestUsername,
      kafkaRestPassword: SECRETS.kafkaRestPassword,
      kafkaRestOpsUsername: SECRETS.kafkaRestOpsUsername,
      kafkaRestOpsPassword: SECRETS.kafkaRestOpsPassword,
      topicPartitions: 4,
      topicPrefix: kafkaTopicPrefix,
    };
    say("starting the local endpoints (and Kafka if it is not running)...");
    const stackProcess = await spawnUntil(
      ["--import", "tsx", "bench/stack-server.ts"],
      { ...process.env, BENCH_STACK: JSON.stringify(options) },
      "READY ",
      300_000,
    );
    stops.push(stackProcess.managed.stop);
    const stack = JSON.parse(stackProcess.line) as Omit<Stack, "close">;
    // Kafka REST as it is deployed (its own process), so its CPU is told apart from the endpoints'.
    const kafkaRestPort = await freePort();
    const kafkaRest = await spawnUntil(
      ["services/kafka-rest/src/main.ts"],
      {
        ...process.env,
        KAFKA_BROKERS: stack.kafkaBrokers.join(","),
        KAFKA_REST_USERS: JSON.stringify(kafkaRestUsers({ ...SECRETS, topicPrefix: kafkaTopicPrefix })),
        PORT: String(kafkaRestPort),
        LOG_LEVEL: "info",
      },
      /"msg":"kafka-rest listening"/,
      60_000,
    );
    kafkaRest.managed.child.stdout?.resume();
    stops.push(kafkaRest.managed.stop);
    const kafkaRestUrl = `http://127.0.0.1:${kafkaRestPort}`;
    stops.push(() => deleteRunTopics(stack.kafkaBrokers, kafkaTopicPrefix));
    const pgClient = new pg.Client({ connectionString: databaseUrl });
    await pgClient.connect();
    await pgClient.query("create extension if not exists pg_stat_statements");
    await pgClient.end();

    say(`seeding ${opts.seedCount} products...`);
    await seedCatalog(databaseUrl, { count: opts.seedCount });

    const kafkaPid = await brokerPid();
    say("starting the consumers...");
    // BENCH_CPU_PROFILE_DIR=<dir>: the consumers write a V8 CPU profile there when they stop.
    const profileDir = process.env.BENCH_CPU_PROFILE_DIR;
    const consumers = await spawnUntil(
      [...(profileDir ? ["--cpu-prof", `--cpu-prof-dir=${profileDir}`] : []), "consumers/src/main.ts", "all"],
      {
        ...process.env,
        DATABASE_URL: databaseUrl,
        KAFKA_BROKERS: stack.kafkaBrokers.join(","),
        REDIS_URL: redis.url,
        KAFKA_TOPIC_PREFIX: kafkaTopicPrefix,
        CONSUMER_START_AT: "latest",
        LOG_LEVEL: "info",
        // Any free port, so a bench never collides with a running `npm run dev`.
        METRICS_PORT: "0",
      },
      /"msg":"consumers ready"/,
      120_000,
    );
    // The consumers log on stdout (pino); keep reading it so the pipe never fills.
    consumers.managed.child.stdout?.resume();
    stops.push(consumers.managed.stop);

    const services = {
      redisRestUrl: stack.redisRestUrl,
      redisRestToken: SECRETS.redisRestToken,
      cacheRedisRestUrl: stack.cacheRedisRestUrl,
      cacheRedisRestToken: SECRETS.cacheRedisRestToken,
      kafkaRestUrl,
      kafkaRestUsername: SECRETS.kafkaRestUsername,
      kafkaRestPassword: SECRETS.kafkaRestPassword,
      kafkaTopicPrefix,
      edgeDatabaseUrl: stack.edgeDatabaseUrl,
      neonUrl: stack.neonUrl,
      adminToken: SECRETS.adminToken,
    };
    say("bundling the workers as wrangler deploy does...");
    bundleWorkers();
    // No cart rate limit and no failed sign-in limits: the load comes from one address.
    const vars = {
      CART_RATE_LIMIT: "1000000000",
      SIGNIN_ACCOUNT_LIMIT: "1000000000",
      SIGNIN_IP_LIMIT: "1000000000",
      LOG_LEVEL: "error",
    };
    const workers: Workers = await startWorkers(services, vars);
    stops.push(() => workers.dispose());
    const env: BenchEnv = {
      url: workers.url,
      adminToken: SECRETS.adminToken,
      databaseUrl,
      redisUrl: redis.url,
      redisPort,
      redisRestUrl: stack.redisRestUrl,
      redisRestToken: SECRETS.redisRestToken,
      kafkaRestUrl,
      kafkaRestUsername: SECRETS.kafkaRestUsername,
      kafkaRestPassword: SECRETS.kafkaRestPassword,
      kafkaBrokers: stack.kafkaBrokers,
      kafkaTopicPrefix,
      cpuComponents: [
        { name: "load generator (autocannon)", roots: () => [process.pid], selfOnly: true },
        { name: "workerd (both workers)", roots: () => [process.pid], match: (p) => p.comm === "workerd" },
        {
          name: "local endpoints (Upstash REST, Neon)",
          roots: () => [stackProcess.managed.child.pid],
          // The broker it starts when none runs is the Kafka component's.
          exclude: (stat) => stat.comm === "java",
        },
        { name: "Kafka REST", roots: () => [kafkaRest.managed.child.pid] },
        { name: "Kafka", roots: () => [kafkaPid, ...kafkaProcesses()] },
        { name: "PostgreSQL", roots: () => [postgres.pid] },
        { name: "Redis", roots: () => [redis.pid, cacheRedis.pid] },
        { name: "consumers", roots: () => [consumers.managed.child.pid] },
      ],
      close,
    };
    return env;
  } catch (error) {
    await close();
    throw error;
  }
};
