import { pino } from "pino";
import { KafkaLoginError, verifyKafkaLogin } from "../../kafka-client/login.ts";
import { describeSecurity, kafkaSecurity } from "../../kafka-client/security.ts";
import { ConfigError, loadConfig } from "./config.ts";
import { startKafkaRest } from "./server.ts";

/** Kafka REST service entry point: `node src/main.ts` (Node 22 strips the types) or `tsx src/main.ts`. */
async function main(): Promise<void> {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${err.message}\n`);
    process.exit(2);
  }
  const log = pino({ name: "kafka-rest", level: config.LOG_LEVEL });
  const security = kafkaSecurity(config);
  // A refused login is a setting to fix (exit 2, naming it); Kafka not answering is an outage that
  // /readyz reports while the service waits it out.
  try {
    if ((await verifyKafkaLogin(config.KAFKA_BROKERS, security)) === "no answer")
      log.warn({ brokers: config.KAFKA_BROKERS }, "Kafka does not answer yet");
  } catch (err) {
    if (!(err instanceof KafkaLoginError)) throw err;
    process.stderr.write(`${err.message}\n`);
    process.exit(2);
  }
  const server = await startKafkaRest({
    brokers: config.KAFKA_BROKERS,
    security,
    users: config.KAFKA_REST_USERS,
    port: config.PORT,
    host: config.HOST,
    requestTimeoutMs: config.KAFKA_REQUEST_TIMEOUT_MS,
    onServerError: (err, path) => log.error({ err, path }, "request failed"),
  });
  log.info(
    {
      url: server.url,
      brokers: config.KAFKA_BROKERS,
      kafka: describeSecurity(security),
      users: config.KAFKA_REST_USERS.map((u) => u.username),
    },
    "kafka-rest listening",
  );

  let stopping = false;
  const shutdown = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, "shutting down");
    const force = setTimeout(() => {
      log.error("shutdown took longer than 10 s; exiting");
      process.exit(1);
    }, 10_000);
    force.unref();
    server.close().then(
      () => {
        log.info("stopped");
        process.exit(0);
      },
      (err: unknown) => {
        log.error({ err }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", shutdown);
  process.on("SIGINT", shutdown);
}

main().catch((err: unknown) => {
  process.stderr.write(
    `kafka-rest failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exit(1);
});
