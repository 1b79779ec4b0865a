import type { Redis } from "ioredis";
import { type Logger, pino } from "pino";
import { KafkaLoginError, verifyKafkaLogin } from "../../services/kafka-client/login.ts";
import { describeSecurity, kafkaSecurity } from "../../services/kafka-client/security.ts";
import { createConfiguredSimulator, createConsumerDb, createConsumerRedis } from "./clients.ts";
import { ConfigError, type ConsumersConfig, loadConfig } from "./config.ts";
import { startSmtpRelay } from "./email/index.ts";
import { startOperations } from "./metrics/index.ts";
import { createRedisAckedOrders } from "./orders/index.ts";
import { simulatorActions } from "./payment/simulator-actions.ts";
import { runnerOptions, startProcessRuntime } from "./process.ts";
import { CONSUMER_NAMES, CONSUMER_REGISTRY, type RegistryContext } from "./registry.ts";
import { guardPool } from "./runtime/pool-guard.ts";
import { type RunningConsumer, startConsumer } from "./runtime/runner.ts";
import type { ConsumerDefinition } from "./runtime/types.ts";

/**
 * Consumers entry point: `node consumers/src/main.ts orders email --replicas payment=10` (or `all`,
 * or names in CONSUMERS). Node 22 strips the types, so there is no build step.
 */

const fail = (message: string, code: number): never => {
  process.stderr.write(`${message}\n`);
  process.exit(code);
};

const configure = (): ConsumersConfig => {
  try {
    return loadConfig(process.argv.slice(2), process.env, CONSUMER_NAMES);
  } catch (error) {
    if (error instanceof ConfigError) return fail(error.message, 2);
    throw error;
  }
};

const build = (
  config: ConsumersConfig,
  ctx: RegistryContext,
): { def: ConsumerDefinition; replicas: number }[] =>
  config.consumers.map(({ name, replicas }) => {
    const factory = CONSUMER_REGISTRY[name];
    if (!factory) return fail(`unknown consumer ${name}`, 2);
    try {
      return { def: factory(ctx), replicas };
    } catch (error) {
      if (error instanceof ConfigError) return fail(`${name}: ${error.message}`, 2);
      throw error;
    }
  });

/**
 * A login Kafka refuses is a setting to fix: the process exits naming it. Kafka not answering is an
 * outage: the consumers start and wait it out.
 */
const checkKafkaLogin = async (settings: ConsumersConfig["settings"], log: Logger): Promise<void> => {
  try {
    const answer = await verifyKafkaLogin(settings.KAFKA_BROKERS, kafkaSecurity(settings));
    if (answer === "no answer") log.warn({ brokers: settings.KAFKA_BROKERS }, "Kafka does not answer yet");
  } catch (error) {
    if (error instanceof KafkaLoginError) fail(error.message, 2);
    throw error;
  }
};

const main = async (): Promise<void> => {
  const config = configure();
  const { settings } = config;
  const log: Logger = pino({ name: "consumers", level: settings.LOG_LEVEL });
  await checkKafkaLogin(settings, log);
  const { db, pool } = createConsumerDb(settings.DATABASE_URL, settings);
  guardPool(pool, log);
  let redis: Redis | undefined;
  const ctx: RegistryContext = {
    settings,
    redis: () => {
      if (!settings.REDIS_URL) throw new ConfigError("REDIS_URL is required (the Redis order status record)");
      redis ??= createConsumerRedis(settings.REDIS_URL, settings);
      return redis;
    },
  };
  // The simulator kept at hand: the operations port settles its 3-D Secure steps (local runs).
  const simulator =
    settings.PAYMENT_PROCESSOR === "simulator" && config.consumers.some((c) => c.name === "payment")
      ? createConfiguredSimulator(settings)
      : undefined;
  if (simulator) ctx.processor = simulator;
  const definitions = build(config, ctx);

  const brokers = settings.KAFKA_BROKERS;
  const security = kafkaSecurity(settings);
  const running: RunningConsumer[] = [];
  const acked = settings.REDIS_URL ? createRedisAckedOrders(ctx.redis()) : undefined;
  const operations = await startOperations({
    settings,
    db,
    consumers: () => running,
    log,
    ...(acked
      ? { ackedUnrecorded: () => acked.countOverdue(Date.now() - settings.ORDER_RECONCILE_AFTER_MS) }
      : {}),
    ...(simulator
      ? { paymentActions: simulatorActions({ db, simulator, topicPrefix: settings.KAFKA_TOPIC_PREFIX }) }
      : {}),
  }).catch((error: unknown) =>
    fail(
      `cannot serve /healthz, /readyz and /metrics on ${settings.METRICS_HOST}:${settings.METRICS_PORT} ` +
        `(set METRICS_PORT to a free port, 0 for any, or off): ${error instanceof Error ? error.message : String(error)}`,
      2,
    ),
  );
  if (operations.url) log.info({ url: operations.url }, "operations endpoints listening");
  const runtime = startProcessRuntime({ settings, db, log, clientId: "consumers" });
  const { producer, relay, effects } = runtime;
  const options = runnerOptions(settings);
  const started = definitions.map(({ def, replicas }) =>
    startConsumer(
      def,
      {
        db,
        pool,
        brokers,
        kafkaSecurity: security,
        log,
        producer,
        relay,
        effects,
        metrics: operations.metrics,
      },
      { ...options, replicas },
    ),
  );
  running.push(...started);
  const smtp =
    settings.SMTP_URL && definitions.some(({ def }) => def.name === "email")
      ? startSmtpRelay({
          db,
          smtpUrl: settings.SMTP_URL,
          from: settings.EMAIL_FROM,
          log,
          maxConnections: settings.SMTP_MAX_CONNECTIONS,
          timeoutMs: settings.SMTP_TIMEOUT_MS,
        })
      : undefined;

  let stopping = false;
  const shutdown = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, "stopping: no more fetching; finishing the events in flight");
    const force = setTimeout(() => {
      log.error("shutdown did not finish in time; exiting");
      process.exit(1);
    }, settings.SHUTDOWN_TIMEOUT_MS + 15_000);
    force.unref();
    (async () => {
      await Promise.all(running.map((r) => r.stop()));
      await smtp?.stop();
      await runtime.stop();
      redis?.disconnect();
      await pool.end();
      await operations.close();
    })().then(
      () => {
        log.info("stopped");
        process.exit(0);
      },
      (error: unknown) => {
        log.error({ err: error }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", shutdown);
  process.on("SIGINT", shutdown);

  await Promise.all(running.map((r) => r.ready));
  log.info({ consumers: config.consumers, brokers, kafka: describeSecurity(security) }, "consumers ready");
};

main().catch((error: unknown) => {
  process.stderr.write(
    `consumers failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
