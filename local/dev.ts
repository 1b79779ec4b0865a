import { mkdirSync, writeFileSync } from "node:fs";
import { z } from "zod";
import { seedCatalog } from "../db/seed.ts";
import { uploadSeedImages } from "../db/upload-seed-images.ts";
import { KAFKA_PREFIX_PATTERN } from "../domain/topics.ts";
import { loadDevVars, portOf } from "./dev-vars.ts";
import { type GroupProcess, StartFailure, spawnGroup, waitReady } from "./process-group.ts";
import { REPO_ROOT, type Stack, startStack } from "./stack.ts";

const { path: devVarsPath, vars, created, added } = loadDevVars(REPO_ROOT);

const Config = z.object({
  REDIS_URL: z.string().url().default("redis://127.0.0.1:6379"),
  DATABASE_URL: z.string().url(),
  KAFKA_BROKERS: z.string().optional(),
  KAFKA_PARTITIONS: z.coerce.number().int().min(1).max(64).default(4),
  KAFKA_TOPIC_PREFIX: z.string().regex(KAFKA_PREFIX_PATTERN).default("dev."),
  UPSTASH_REDIS_REST_URL: z.string().url(),
  UPSTASH_REDIS_REST_TOKEN: z.string().min(1),
  CACHE_REDIS_URL: z.string().url().default("redis://127.0.0.1:6380"),
  CACHE_REDIS_REST_URL: z.string().url(),
  CACHE_REDIS_REST_TOKEN: z.string().min(1),
  CACHE_REDIS_MAX_MEMORY: z
    .string()
    .regex(/^\d+(kb|mb|gb)$/i)
    .default("64mb"),
  EDGE_DATABASE_PASSWORD: z.string().min(1),
  NEON_LOCAL_ENDPOINT: z.string().url(),
  KAFKA_REST_URL: z.string().url(),
  KAFKA_REST_USERNAME: z.string().min(1),
  KAFKA_REST_PASSWORD: z.string().min(1),
  KAFKA_REST_OPS_USERNAME: z.string().min(1),
  KAFKA_REST_OPS_PASSWORD: z.string().min(1),
  ADMIN_TOKEN: z.string().min(1),
  STOREFRONT_PORT: z.coerce.number().int().default(8787),
  CHECKOUT_PORT: z.coerce.number().int().default(8788),
  SEED_COUNT: z.coerce.number().int().min(1).max(1_000_000).default(1000),
  /** A process that shows no output and uses no CPU for this long while starting has failed. */
  DEV_STALL_TIMEOUT_MS: z.coerce.number().int().min(1_000).default(120_000),
  /** The whole start, however busy the machine: past this, the start fails. */
  DEV_START_TIMEOUT_MS: z.coerce.number().int().min(1_000).default(900_000),
});

const parsed = Config.safeParse({ ...vars, ...process.env });
if (!parsed.success) {
  console.error(
    `Invalid configuration (${devVarsPath} and the environment):\n${z.prettifyError(parsed.error)}`,
  );
  process.exit(1);
}
const config = parsed.data;
const say = (msg: string) => console.log(`[dev] ${msg}`);
if (created) say(`created ${devVarsPath} from .dev.vars.example`);
if (added.length > 0) say(`added ${added.join(", ")} to ${devVarsPath} from .dev.vars.example`);
const deadline = Date.now() + config.DEV_START_TIMEOUT_MS;

// What this run started, stopped in reverse order by every way out: Ctrl-C, SIGTERM, a failed start
// and a child that exits on its own.
const children: GroupProcess[] = [];
let stack: Promise<Stack> | undefined;
let stopping: Promise<never> | undefined;
const stopAll = (why: string, code: number): Promise<never> => {
  stopping ??= (async () => {
    say(`${why}: stopping everything this run started...`);
    await Promise.all(children.map((child) => child.stop()));
    // A stack still starting is let finish (or fail, which closes it), then closed.
    const started = await stack?.catch(() => undefined);
    await started
      ?.close()
      .catch((error: unknown) => say(`stopping the local stack failed: ${String(error)}`));
    say("stopped");
    process.exit(code);
  })();
  return stopping;
};
process.on("SIGINT", () => void stopAll("SIGINT", 0));
process.on("SIGTERM", () => void stopAll("SIGTERM", 0));
process.on("SIGHUP", () => void stopAll("SIGHUP", 0));

/** Says which process failed and what it printed last, then stops everything. */
const fail = (error: unknown): Promise<never> => {
  if (stopping) return stopping; // a process stopped by the stop itself is no failure
  if (error instanceof StartFailure) {
    say(`${error.message}. Its last lines:`);
    for (const line of error.process.tail().split("\n")) say(`  | ${line}`);
  } else {
    say(`start failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  }
  return stopAll("start failed", 1);
};

/** Once started, a child that exits on its own takes the whole run down, saying which and why. */
const spawnChild = (name: string, command: string, args: string[], env: NodeJS.ProcessEnv): GroupProcess => {
  const child = spawnGroup(name, command, args, { cwd: REPO_ROOT, env });
  children.push(child);
  void child.exited.then((code) => {
    void fail(new StartFailure(child, `exited unexpectedly (${code})`));
  });
  return child;
};

/**
 * The workers read the same settings as this script: `.dev.vars` with the environment on top (so an
 * exported port or URL reaches them too), written to a file of this run for `wrangler dev`.
 */
const workerVarsPath = `${REPO_ROOT}.local/dev/worker.vars`;
const writeWorkerVars = (services: Stack): void => {
  const merged: Record<string, string> = { ...vars };
  for (const key of Object.keys(vars)) {
    const value = process.env[key];
    if (value !== undefined) merged[key] = value;
  }
  merged.KAFKA_TOPIC_PREFIX = config.KAFKA_TOPIC_PREFIX;
  // The workers query Postgres as their own role (its statement_timeout), not as the owner.
  merged.DATABASE_URL = services.edgeDatabaseUrl;
  mkdirSync(`${REPO_ROOT}.local/dev`, { recursive: true });
  const lines = Object.entries(merged).map(([key, value]) => `${key}=${JSON.stringify(value)}`);
  writeFileSync(workerVarsPath, `${lines.join("\n")}\n`, { mode: 0o600 });
};

const wrangler = (name: string, configPath: string, port: number): GroupProcess =>
  spawnChild(
    name,
    `${REPO_ROOT}node_modules/.bin/wrangler`,
    [
      "dev",
      "-c",
      configPath,
      "--env-file",
      workerVarsPath,
      "--ip",
      "127.0.0.1",
      "--port",
      String(port),
      "--show-interactive-dev-session=false",
    ],
    {
      ...process.env,
      WRANGLER_SEND_METRICS: "false",
      // This run's own registry of local workers: the storefront's CHECKOUT binding must find this
      // run's checkout, never one that another `npm run dev` (another clone, a test) registered.
      WRANGLER_REGISTRY_PATH:
        process.env.WRANGLER_REGISTRY_PATH ?? `${REPO_ROOT}.local/dev/registry-${config.STOREFRONT_PORT}`,
    },
  );

const healthy = (url: string) => async () => (await fetch(`${url}/healthz`)).ok;
const wait = { stallMs: config.DEV_STALL_TIMEOUT_MS, deadline };

const start = async (): Promise<void> => {
  say("starting the local stack (Redis, PostgreSQL, Kafka and their REST/HTTP endpoints)...");
  stack = startStack({
    redisUrl: config.REDIS_URL,
    databaseUrl: config.DATABASE_URL,
    kafkaBrokers: config.KAFKA_BROKERS?.split(",").filter(Boolean),
    redisRestPort: portOf(config.UPSTASH_REDIS_REST_URL),
    redisRestToken: config.UPSTASH_REDIS_REST_TOKEN,
    cacheRedisUrl: config.CACHE_REDIS_URL,
    cacheRedisRestPort: portOf(config.CACHE_REDIS_REST_URL),
    cacheRedisRestToken: config.CACHE_REDIS_REST_TOKEN,
    cacheRedisMaxMemory: config.CACHE_REDIS_MAX_MEMORY,
    edgeDatabasePassword: config.EDGE_DATABASE_PASSWORD,
    neonPort: portOf(config.NEON_LOCAL_ENDPOINT),
    kafkaRestPort: portOf(config.KAFKA_REST_URL),
    kafkaRestUsername: config.KAFKA_REST_USERNAME,
    kafkaRestPassword: config.KAFKA_REST_PASSWORD,
    kafkaRestOpsUsername: config.KAFKA_REST_OPS_USERNAME,
    kafkaRestOpsPassword: config.KAFKA_REST_OPS_PASSWORD,
    topicPartitions: config.KAFKA_PARTITIONS,
    topicPrefix: config.KAFKA_TOPIC_PREFIX,
    log: say,
  });
  const services = await stack;
  if (stopping) return;

  const seeded = await seedCatalog(config.DATABASE_URL, { count: config.SEED_COUNT, onlyIfEmpty: true });
  if (!seeded.skipped) say(`seeded ${seeded.inserted} products`);
  if (seeded.backfilled > 0) say(`gave ${seeded.backfilled} seed products their pictures`);
  if (stopping) return;

  writeWorkerVars(services);
  // Every Kafka consumer group in one Node process (`npm run consumers -- all`), on the same services.
  const consumers = spawnChild("consumers", process.execPath, ["consumers/src/main.ts", "all"], {
    ...process.env,
    DATABASE_URL: config.DATABASE_URL,
    KAFKA_BROKERS: services.kafkaBrokers.join(","),
    KAFKA_TOPIC_PREFIX: config.KAFKA_TOPIC_PREFIX,
    REDIS_URL: config.REDIS_URL,
    LOG_LEVEL: process.env.LOG_LEVEL ?? "info",
  });
  // One worker at a time: two bundling and booting at once is what timed out on a busy machine, and
  // the storefront's CHECKOUT binding finds a checkout that already runs.
  const storefrontUrl = `http://127.0.0.1:${config.STOREFRONT_PORT}`;
  const checkoutUrl = `http://127.0.0.1:${config.CHECKOUT_PORT}`;
  const checkout = wrangler("checkout", `${REPO_ROOT}workers/checkout/wrangler.toml`, config.CHECKOUT_PORT);
  await waitReady(checkout, `answering on ${checkoutUrl}`, healthy(checkoutUrl), wait);
  if (stopping) return;
  const storefront = wrangler("storefront", `${REPO_ROOT}wrangler.toml`, config.STOREFRONT_PORT);
  await waitReady(storefront, `answering on ${storefrontUrl}`, healthy(storefrontUrl), wait);
  const consumersReady = async () =>
    consumers.lines().some((line) => line.includes('"msg":"consumers ready"'));
  await waitReady(consumers, "consuming", consumersReady, wait);
  if (stopping) return;

  // The seed's pictures go through the storefront's admin upload route into the local R2 that
  // `wrangler dev` keeps in .wrangler/state; idempotent (content-addressed keys), so every start re-checks them.
  try {
    const uploaded = await uploadSeedImages(storefrontUrl, config.ADMIN_TOKEN);
    say(`${uploaded} seed pictures in local R2`);
  } catch (error) {
    say(
      `uploading the seed pictures failed; products show broken images until it succeeds: ${String(error)}`,
    );
  }

  say("ready:");
  for (const [name, url] of [
    ["storefront", storefrontUrl],
    ["checkout", checkoutUrl],
    ["Upstash Redis REST (local)", services.redisRestUrl],
    ["cache Redis REST (local)", services.cacheRedisRestUrl],
    ["Neon HTTP/WebSocket (local)", services.neonUrl],
    ["Kafka REST", services.kafkaRestUrl],
    ["Kafka brokers", services.kafkaBrokers.join(",")],
    ["Kafka topic prefix", config.KAFKA_TOPIC_PREFIX || "(none)"],
  ] as const) {
    say(`  ${name.padEnd(28)} ${url}`);
  }
  say("Ctrl-C stops everything.");
};

await start().catch(fail);
