import { setTimeout as sleep } from "node:timers/promises";
import { z } from "zod";
import { seedCatalog } from "../db/seed.ts";
import { uploadSeedImages } from "../db/upload-seed-images.ts";
import { loadDevVars, portOf } from "./dev-vars.ts";
import { type Managed, spawnManaged, waitFor } from "./processes.ts";
import { REPO_ROOT, startStack } from "./stack.ts";

const { path: devVarsPath, vars, created, added } = loadDevVars(REPO_ROOT);

const Config = z.object({
  REDIS_URL: z.string().url().default("redis://127.0.0.1:6379"),
  DATABASE_URL: z.string().url(),
  KAFKA_BROKERS: z.string().optional(),
  KAFKA_PARTITIONS: z.coerce.number().int().min(1).max(64).default(4),
  UPSTASH_REDIS_REST_URL: z.string().url(),
  UPSTASH_REDIS_REST_TOKEN: z.string().min(1),
  NEON_LOCAL_ENDPOINT: z.string().url(),
  KAFKA_REST_URL: z.string().url(),
  KAFKA_REST_USERNAME: z.string().min(1),
  KAFKA_REST_PASSWORD: z.string().min(1),
  ADMIN_TOKEN: z.string().min(1),
  STOREFRONT_PORT: z.coerce.number().int().default(8787),
  CHECKOUT_PORT: z.coerce.number().int().default(8788),
  SEED_COUNT: z.coerce.number().int().min(1).max(1_000_000).default(1000),
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

say("starting the local stack (Redis, PostgreSQL, Kafka and their REST/HTTP endpoints)...");
const stack = await startStack({
  redisUrl: config.REDIS_URL,
  databaseUrl: config.DATABASE_URL,
  kafkaBrokers: config.KAFKA_BROKERS?.split(",").filter(Boolean),
  redisRestPort: portOf(config.UPSTASH_REDIS_REST_URL),
  redisRestToken: config.UPSTASH_REDIS_REST_TOKEN,
  neonPort: portOf(config.NEON_LOCAL_ENDPOINT),
  kafkaRestPort: portOf(config.KAFKA_REST_URL),
  kafkaRestUsername: config.KAFKA_REST_USERNAME,
  kafkaRestPassword: config.KAFKA_REST_PASSWORD,
  topicPartitions: config.KAFKA_PARTITIONS,
  log: say,
});

const seeded = await seedCatalog(config.DATABASE_URL, { count: config.SEED_COUNT, onlyIfEmpty: true });
if (!seeded.skipped) say(`seeded ${seeded.inserted} products`);
if (seeded.backfilled > 0) say(`gave ${seeded.backfilled} seed products their pictures`);

const children: Managed[] = [];
const wrangler = (name: string, configPath: string, port: number): Managed => {
  const child = spawnManaged(
    "wrangler",
    [
      "dev",
      "-c",
      configPath,
      "--env-file",
      devVarsPath,
      "--ip",
      "127.0.0.1",
      "--port",
      String(port),
      "--show-interactive-dev-session=false",
    ],
    {
      cwd: REPO_ROOT,
      stdio: ["ignore", "inherit", "inherit"],
      env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
    },
  );
  child.child.once("exit", (code) => {
    if (!shuttingDown) say(`${name} worker exited with code ${code}`);
  });
  children.push(child);
  return child;
};

let shuttingDown = false;
const shutdown = async (signal: string) => {
  if (shuttingDown) return;
  shuttingDown = true;
  say(`${signal}: stopping...`);
  await Promise.all(children.map((child) => child.stop()));
  await stack.close();
  say("stopped");
  process.exit(0);
};
process.on("SIGINT", () => void shutdown("SIGINT"));
process.on("SIGTERM", () => void shutdown("SIGTERM"));

wrangler("checkout", `${REPO_ROOT}workers/checkout/wrangler.toml`, config.CHECKOUT_PORT);
await sleep(500);
wrangler("storefront", `${REPO_ROOT}wrangler.toml`, config.STOREFRONT_PORT);

// Every Kafka consumer group in one Node process (`npm run consumers -- all`), on the same services.
const consumers = spawnManaged(
  process.execPath,
  ["consumers/src/main.ts", "all"],
  {
    cwd: REPO_ROOT,
    stdio: ["ignore", "inherit", "inherit"],
    env: {
      ...process.env,
      DATABASE_URL: config.DATABASE_URL,
      KAFKA_BROKERS: stack.kafkaBrokers.join(","),
      REDIS_URL: config.REDIS_URL,
      LOG_LEVEL: process.env.LOG_LEVEL ?? "info",
    },
  },
  20_000,
);
consumers.child.once("exit", (code) => {
  if (!shuttingDown) say(`consumers exited with code ${code}`);
});
children.push(consumers);

const storefrontUrl = `http://127.0.0.1:${config.STOREFRONT_PORT}`;
const checkoutUrl = `http://127.0.0.1:${config.CHECKOUT_PORT}`;
const healthy = (url: string) => async () => (await fetch(`${url}/healthz`)).ok;
await waitFor("storefront worker", healthy(storefrontUrl), 120_000);
await waitFor("checkout worker", healthy(checkoutUrl), 120_000);

// The seed's pictures go through the storefront's admin upload route into the local R2 that
// `wrangler dev` keeps in .wrangler/state; idempotent (content-addressed keys), so every start re-checks them.
try {
  const uploaded = await uploadSeedImages(storefrontUrl, config.ADMIN_TOKEN);
  say(`${uploaded} seed pictures in local R2`);
} catch (error) {
  say(`uploading the seed pictures failed; products show broken images until it succeeds: ${String(error)}`);
}

say("ready:");
for (const [name, url] of [
  ["storefront", storefrontUrl],
  ["checkout", checkoutUrl],
  ["Upstash Redis REST (local)", stack.redisRestUrl],
  ["Neon HTTP/WebSocket (local)", stack.neonUrl],
  ["Kafka REST", stack.kafkaRestUrl],
  ["Kafka brokers", stack.kafkaBrokers.join(",")],
] as const) {
  say(`  ${name.padEnd(28)} ${url}`);
}
say("Ctrl-C stops everything.");
