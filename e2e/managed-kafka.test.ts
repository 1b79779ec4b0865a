import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { ensureTopics } from "../consumers/src/topics/ensure-topics.ts";
import { prefixedTopics } from "../domain/topics.ts";
import { ensureKafka, type KafkaHandle } from "../local/kafka/broker.ts";
import { makeTestCertificates, type TestCertificates } from "../local/kafka/tls.ts";
import { freePort } from "../local/processes.ts";
import { kafkaRestUsers, REPO_ROOT } from "../local/stack.ts";
import { startWorkers, type Workers } from "../local/workers.ts";
import { kafkaSecurity } from "../services/kafka-client/security.ts";
import { createApi, uniqueProductId } from "./support/api.ts";
import { type ConsumersProcess, kill, spawnConsumers } from "./support/consumers-process.ts";
import { SAGA_CONSUMERS, takeE2eLock, waitFor } from "./support/pipeline.ts";

/**
 * A managed Kafka, as Confluent Cloud or MSK run one: the broker takes clients only on a SASL_SSL
 * listener, with SCRAM (and PLAIN) logins and a certificate signed by a CA no system trusts. The
 * consumers and Kafka REST run as their own processes with the settings a deployment gives them,
 * topics are created over the same login, and an order placed through the workers is confirmed. A
 * wrong password stops either process at once, naming the settings to fix.
 */
const stack = inject("stack");
const USER = { name: "storefront", password: "scram-secret-1" };
const NODE = `${REPO_ROOT}node_modules/.bin/node`;

let dir: string;
let certs: TestCertificates;
let kafka: KafkaHandle;
let secureBroker: string;
const prefix = `${stack.kafkaTopicPrefix}sasl.`;

/** The settings of a process on the SASL_SSL listener (KAFKA_TLS is on by default with SASL). */
const loginEnv = (password = USER.password): Record<string, string> => ({
  KAFKA_BROKERS: secureBroker,
  KAFKA_SASL_MECHANISM: "SCRAM-SHA-512",
  KAFKA_SASL_USERNAME: USER.name,
  KAFKA_SASL_PASSWORD: password,
  KAFKA_TLS_CA: certs.caFile,
});

interface Proc {
  child: ChildProcess;
  output: () => string;
  exited: Promise<[number | null, NodeJS.Signals | null]>;
}

/** `node services/kafka-rest/src/main.ts`, as its container runs it. */
const spawnKafkaRest = (port: number, env: Record<string, string>): Proc => {
  const users = kafkaRestUsers({
    kafkaRestUsername: stack.kafkaRestUsername,
    kafkaRestPassword: stack.kafkaRestPassword,
    kafkaRestOpsUsername: stack.kafkaRestOpsUsername,
    kafkaRestOpsPassword: stack.kafkaRestOpsPassword,
    topicPrefix: prefix,
  });
  const child = spawn(NODE, ["services/kafka-rest/src/main.ts"], {
    cwd: REPO_ROOT,
    env: {
      PATH: process.env.PATH ?? "",
      PORT: String(port),
      KAFKA_REST_USERS: JSON.stringify(users),
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exited = once(child, "exit") as Promise<[number | null, NodeJS.Signals | null]>;
  return { child, output: () => output, exited };
};

describe("a SASL_SSL Kafka (SCRAM over TLS with its own CA)", () => {
  let unlock: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    unlock = await takeE2eLock(stack.databaseUrl);
    dir = await mkdtemp(join(tmpdir(), "storefront-sasl-"));
    certs = await makeTestCertificates(dir);
    const [port, controllerPort, saslPort] = [await freePort(), await freePort(), await freePort()];
    kafka = await ensureKafka({
      port,
      controllerPort,
      dataDir: join(dir, "kafka"),
      partitions: 3,
      saslSsl: { port: saslPort, keystorePem: certs.keystoreFile, users: [USER] },
    });
    secureBroker = `127.0.0.1:${saslPort}`;
  }, 300_000);
  afterAll(async () => {
    await kafka?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
    await unlock?.();
  });

  it("creates the topics, and the consumers and Kafka REST confirm an order placed through the workers", async () => {
    const { created } = await ensureTopics([secureBroker], prefixedTopics(prefix), {
      partitions: 3,
      security: kafkaSecurity({ ...loginEnv(), KAFKA_BROKERS: [secureBroker], KAFKA_TLS_CA: certs.caPem }),
    });
    expect(created.length).toBe(prefixedTopics(prefix).length);

    const restPort = await freePort();
    const rest = spawnKafkaRest(restPort, loginEnv());
    const consumers: ConsumersProcess = spawnConsumers(
      { ...stack, kafkaBrokers: secureBroker, kafkaTopicPrefix: prefix },
      "",
      "consumers-sasl",
      { consumers: SAGA_CONSUMERS, env: { ...loginEnv(), CONSUMER_START_AT: "earliest" } },
    );
    let workers: Workers | undefined;
    try {
      await waitFor("kafka-rest listening", () => rest.output().includes("kafka-rest listening"), 60_000);
      expect(rest.output()).toContain("SASL SCRAM-SHA-512 as storefront, TLS (own CA)");
      await consumers.ready;
      expect(consumers.output()).toContain("SASL SCRAM-SHA-512 as storefront, TLS (own CA)");

      workers = await startWorkers({
        ...stack,
        kafkaRestUrl: `http://127.0.0.1:${restPort}`,
        kafkaTopicPrefix: prefix,
      });
      const api = createApi(workers.url, stack.adminToken);
      const productId = uniqueProductId("sasl");
      await api.createProduct(productId, 5);
      const answer = await api.checkout(await api.cartWith(productId, 2), "tok_visa");
      expect(answer.status).toBe(202);
      const orderId = answer.order?.orderId ?? "";
      const final = await api.waitFinal([orderId]);
      expect(final.get(orderId)?.status).toBe("confirmed");
      expect((await api.stock(productId)).available).toBe(3);
    } finally {
      await workers?.dispose();
      await kill(consumers);
      rest.child.kill("SIGTERM");
      await rest.exited;
    }
  });

  it("stops the consumers and Kafka REST at start on a wrong password, naming the settings", async () => {
    const consumers = spawnConsumers(
      { ...stack, kafkaBrokers: secureBroker, kafkaTopicPrefix: prefix },
      "",
      "consumers-wrong-password",
      { consumers: ["orders"], env: loginEnv("not-the-password") },
    );
    // It never becomes ready: its exit is the answer.
    consumers.ready.catch(() => undefined);
    const rest = spawnKafkaRest(await freePort(), loginEnv("not-the-password"));
    const [[consumersCode], [restCode]] = await Promise.all([consumers.exited, rest.exited]);
    const refused = "Kafka refused the SCRAM-SHA-512 login of storefront: check KAFKA_SASL_USERNAME";
    expect(consumersCode).toBe(2);
    expect(consumers.output()).toContain(refused);
    expect(restCode).toBe(2);
    expect(rest.output()).toContain(refused);
  });

  it("stops them when the brokers' certificate is signed by a CA they were not given", async () => {
    const { KAFKA_TLS_CA: _, ...withoutCa } = loginEnv();
    const rest = spawnKafkaRest(await freePort(), withoutCa);
    const [code] = await rest.exited;
    expect(code).toBe(2);
    expect(rest.output()).toContain("TLS certificate is not trusted");
    expect(rest.output()).toContain("KAFKA_TLS_CA");
  });
});
