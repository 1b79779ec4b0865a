import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { pino } from "pino";
import { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import {
  loadConfig as loadConsumersConfig,
  replicasVariable,
  SettingsSchema,
} from "../consumers/src/config.ts";
import { type OpsServer, startOpsServer } from "../consumers/src/metrics/ops-server.ts";
import { CONSUMER_NAMES } from "../consumers/src/registry.ts";
import { WORKER_TOPICS } from "../domain/topics.ts";
import { ConfigSchema, loadConfig as loadKafkaRestConfig } from "../services/kafka-rest/src/config.ts";
import { type KafkaRestServer, startKafkaRest } from "../services/kafka-rest/src/server.ts";
import {
  composeText,
  entryOf,
  imageEnv,
  imageHealthcheck,
  inImage,
  ROOT,
  readEnvFile,
  readRepoFile,
  runtimeGraph,
  services,
} from "./recipe.ts";

/**
 * What can be checked of the container recipe without a container engine: compose.yaml, the example
 * settings, the Dockerfile and .dockerignore against the code they run, and the healthchecks against
 * the real operations servers. Nothing here needs a service.
 */

/** The managed cluster's login and TLS, read by every process that talks to Kafka. */
const KAFKA_SECURITY = [
  "KAFKA_SASL_MECHANISM",
  "KAFKA_SASL_USERNAME",
  "KAFKA_SASL_PASSWORD",
  "KAFKA_TLS",
  "KAFKA_TLS_CA",
];
/** The topics CLI's own settings (its schema is not exported: the module runs when imported). */
const TOPICS_OWN = ["KAFKA_PARTITIONS", "KAFKA_REPLICATION_FACTOR", "KAFKA_MIN_INSYNC_REPLICAS"];
/** A name kept in a schema only to be refused (a retired setting). */
const refusesEveryValue = (s: z.ZodType): boolean =>
  s instanceof z.ZodOptional ? refusesEveryValue(s.unwrap() as z.ZodType) : s instanceof z.ZodUndefined;

/** The settings each command of the image reads, by the file it runs. */
const READS: Record<string, readonly string[]> = {
  "consumers/src/main.ts": [
    ...Object.keys(SettingsSchema.shape),
    ...KAFKA_SECURITY,
    ...CONSUMER_NAMES.map(replicasVariable),
  ],
  "consumers/src/topics/cli.ts": ["KAFKA_BROKERS", "KAFKA_TOPIC_PREFIX", ...KAFKA_SECURITY, ...TOPICS_OWN],
  "db/migrate.ts": ["DATABASE_URL"],
  "services/kafka-rest/src/main.ts": [
    ...Object.entries(ConfigSchema.shape)
      .filter(([, schema]) => !refusesEveryValue(schema))
      .map(([name]) => name),
    ...KAFKA_SECURITY,
  ],
};

const jobs = services.filter(([, s]) => s.restart === "no");
const longRunning = services.filter(([, s]) => s.restart !== "no");
const consumerServices = services.filter((s) => entryOf(s) === "consumers/src/main.ts");
const kafkaRest = services.find((s) => entryOf(s) === "services/kafka-rest/src/main.ts")?.[1];
const isConsumer = (name: string): boolean => consumerServices.some(([n]) => n === name);
const consumersExample = readEnvFile("deploy/.env.example");
const kafkaRestExample = readEnvFile("deploy/kafka-rest.env.example");

/** Runs a compose healthcheck (`["CMD", "node", ...]`) with this Node and `env`; its exit code. */
const runCheck = (test: string[] | undefined, env: Record<string, string>): Promise<number> => {
  const [form, program, ...args] = test ?? [];
  expect([form, program]).toEqual(["CMD", "node"]);
  return new Promise((resolve) => {
    execFile(process.execPath, args, { env, timeout: 10_000 }, (error) =>
      resolve(error ? Number(error.code ?? 1) : 0),
    );
  });
};

describe("deploy/compose.yaml", () => {
  it("runs every service with a command of the image whose settings are known", () => {
    for (const service of services) {
      const file = entryOf(service);
      expect(READS, `${service[0]}: ${file}`).toHaveProperty([file]);
      expect(existsSync(join(ROOT, file)), file).toBe(true);
      expect(inImage(file), `${file} is in the image`).toBe(true);
    }
  });

  it("runs each consumer group in one service of its own", () => {
    for (const [name, s] of consumerServices) expect(s.command, name).toHaveLength(3);
    const named = consumerServices.flatMap(([, s]) => s.command?.slice(2) ?? []);
    expect(named.sort()).toEqual([...CONSUMER_NAMES].sort());
  });

  it("sets only settings the service's process reads, from files with an .example", () => {
    for (const service of services) {
      const [name, s] = service;
      const reads = READS[entryOf(service)] ?? [];
      for (const key of Object.keys(s.environment ?? {})) expect(reads, `${name}: ${key}`).toContain(key);
      expect(s.env_file?.length, `${name} has an env_file`).toBeGreaterThan(0);
      for (const file of s.env_file ?? []) {
        expect(existsSync(join(ROOT, "deploy", `${file}.example`)), `deploy/${file}.example`).toBe(true);
      }
    }
  });

  it("interpolates nothing but IMAGE and TAG (so .env holds only the processes' settings)", () => {
    const names = [...composeText.matchAll(/\$(\$|\{([A-Za-z_]\w*)|[A-Za-z_]\w*)/g)]
      .filter((m) => m[1] !== "$")
      .map((m) => m[2] ?? m[1]);
    expect([...new Set(names)].sort()).toEqual(["IMAGE", "TAG"]);
  });

  it("runs the jobs first, and once", () => {
    expect(jobs.map(([name]) => name).sort()).toEqual(["migrate", "topics"]);
    for (const [name, s] of jobs) expect(s.depends_on, name).toBeUndefined();
    for (const [name, s] of longRunning) {
      for (const job of isConsumer(name) ? ["migrate", "topics"] : ["topics"]) {
        expect(s.depends_on?.[job]?.condition, `${name} waits for ${job}`).toBe(
          "service_completed_successfully",
        );
      }
    }
  });

  it("publishes Kafka REST on the loopback only, and no consumer port (so --scale works)", () => {
    for (const [name, s] of longRunning) {
      if (isConsumer(name)) expect(s.ports, name).toBeUndefined();
      for (const port of s.ports ?? []) expect(port, name).toMatch(/^127\.0\.0\.1:\d+:\d+$/);
    }
  });

  it("gives the consumers their shutdown time before the kill", () => {
    const { settings } = loadConsumersConfig(["all"], consumersExample.active, CONSUMER_NAMES);
    for (const [name, s] of consumerServices) {
      const graceMs = Number(/^(\d+)s$/.exec(s.stop_grace_period ?? "")?.[1]) * 1000;
      // main.ts gives up SHUTDOWN_TIMEOUT_MS + 15 s after SIGTERM.
      expect(graceMs, name).toBeGreaterThan(settings.SHUTDOWN_TIMEOUT_MS + 15_000);
    }
  });
});

describe("deploy/*.env.example", () => {
  const loaders = (file: string) => services.filter(([, s]) => s.env_file?.includes(file)).map(entryOf);
  const files = [...new Set(services.flatMap(([, s]) => s.env_file ?? []))];

  it("lists every setting its processes read, and nothing else", () => {
    expect(files.sort()).toEqual([".env", "kafka-rest.env"]);
    for (const file of files) {
      const reads = new Set(loaders(file).flatMap((entry) => READS[entry] ?? []));
      const { names } = readEnvFile(`deploy/${file}.example`);
      const unknown = names.filter((n) => !reads.has(n));
      expect(unknown, `deploy/${file}.example lists settings no process of it reads`).toEqual([]);
      const missing = [...reads].filter((n) => !names.includes(n));
      expect(missing, `deploy/${file}.example does not list`).toEqual([]);
    }
  });

  it("holds values the processes accept, with the image's own settings", () => {
    const env = { ...imageEnv, ...consumersExample.active };
    const { settings } = loadConsumersConfig(["all"], env, CONSUMER_NAMES);
    expect(settings.PAYMENT_PROCESSOR).toBe("stripe");
    expect(settings.METRICS_HOST).toBe("0.0.0.0");
    const rest = loadKafkaRestConfig({ ...imageEnv, ...kafkaRestExample.active });
    expect(rest.HOST).toBe("0.0.0.0");
    expect(kafkaRest?.ports).toEqual([`127.0.0.1:${rest.PORT}:${rest.PORT}`]);
    // The workers' login may produce what the workers publish, and read nothing.
    const workers = rest.KAFKA_REST_USERS.find((u) => (u.produce ?? []).length > 0);
    expect([...(workers?.produce ?? [])].sort()).toEqual([...WORKER_TOPICS].sort());
    expect(workers?.consume ?? []).toEqual([]);
  });
});

describe("deploy/Dockerfile and .dockerignore", () => {
  const pkg = JSON.parse(readRepoFile("package.json")) as { dependencies: Record<string, string> };

  it("sets only settings the processes read", () => {
    const known = new Set(Object.values(READS).flat());
    expect(Object.keys(imageEnv).filter((n) => n !== "NODE_ENV" && !known.has(n))).toEqual([]);
    expect(imageEnv.NODE_ENV).toBe("production");
  });

  it("holds every module the commands load, and they import only runtime dependencies", () => {
    for (const entry of [...Object.keys(READS), "consumers/src/dlq/cli.ts"]) {
      const { files, packages } = runtimeGraph(entry);
      const absent = files.filter((f) => !existsSync(join(ROOT, f)) || !inImage(f));
      expect(absent, `${entry} loads files the image lacks`).toEqual([]);
      const notRuntime = packages.filter((p) => !(p in pkg.dependencies));
      expect(notRuntime, `${entry} imports packages npm ci --omit=dev leaves out`).toEqual([]);
    }
    expect(inImage("package.json")).toBe(true);
    expect(inImage("db/migrations/meta/_journal.json")).toBe(true);
    expect(inImage("consumers/src/config.test.ts")).toBe(false);
    expect(inImage("consumers/src/test-support/kafka.ts")).toBe(false);
    expect(inImage("workers/checkout/src/index.ts")).toBe(false);
  });
});

describe("healthchecks, run against the real operations servers", () => {
  let ops: OpsServer;
  let rest: KafkaRestServer;
  const portOf = (url: string): string => new URL(url).port;
  beforeAll(async () => {
    ops = await startOpsServer({
      port: 0,
      host: "127.0.0.1",
      registry: new Registry(),
      readiness: async () => ({}),
      log: pino({ level: "silent" }),
    });
    // No broker listens on port 9: /healthz never asks Kafka.
    rest = await startKafkaRest({
      brokers: ["127.0.0.1:9"],
      users: [{ username: "probe", password: "probe", metrics: true }],
      port: 0,
    });
  });
  afterAll(async () => {
    await ops?.close();
    await rest?.close();
  });

  it("each consumer service's check passes on the consumers' operations port", async () => {
    for (const [name, s] of consumerServices) {
      expect(await runCheck(s.healthcheck?.test, { METRICS_PORT: portOf(ops.url) }), name).toBe(0);
    }
  });

  it("the image's own check (the default command's) passes there too", async () => {
    expect(await runCheck(imageHealthcheck, { METRICS_PORT: portOf(ops.url) })).toBe(0);
  });

  it("Kafka REST's check passes on its port", async () => {
    expect(await runCheck(kafkaRest?.healthcheck?.test, { PORT: portOf(rest.url) })).toBe(0);
  });

  it("a check fails where nothing answers", async () => {
    expect(await runCheck(consumerServices[0]?.[1].healthcheck?.test, { METRICS_PORT: "9" })).not.toBe(0);
  });

  it("long-running services have a check, jobs none", () => {
    for (const [name, s] of longRunning) expect(s.healthcheck?.test, name).toBeDefined();
    for (const [name, s] of jobs) expect(s.healthcheck?.disable, name).toBe(true);
  });
});
