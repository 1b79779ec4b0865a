import { brokerPid, dataDirLayout, ensureKafka, stopKafka } from "./broker.ts";
import { fetchKafka } from "./fetch.ts";
import { kafkaVersion } from "./paths.ts";
import { isAlive } from "./process.ts";

const USAGE = `usage: tsx local/kafka/cli.ts <command>

  start [--detach]  start a single-node KRaft broker on 127.0.0.1:$KAFKA_PORT (9092), or reuse a running one;
                    stays in the foreground until Ctrl-C unless --detach
  stop              stop the broker recorded in the data dir's pid file (SIGTERM, then SIGKILL after 30 s)
  status            say whether a broker from the data dir is running
  fetch             download Kafka $KAFKA_VERSION (${kafkaVersion()}) with Maven into the cache, if not there yet

env: KAFKA_PORT, KAFKA_CONTROLLER_PORT, KAFKA_DATA_DIR, KAFKA_CACHE_DIR, KAFKA_VERSION,
     KAFKA_NUM_PARTITIONS, KAFKA_HEAP_OPTS`;

const log = (msg: string): void => {
  process.stderr.write(`[kafka] ${msg}\n`);
};

async function start(detach: boolean): Promise<number> {
  const kafka = await ensureKafka({ log });
  process.stdout.write(`${kafka.brokers.join(",")}\n`);
  if (detach || !kafka.startedHere) return 0;
  log("running in the foreground; Ctrl-C stops the broker");
  const pid = await brokerPid();
  return new Promise((resolve) => {
    let stopping = false;
    const shutdown = (): void => {
      if (stopping) return;
      stopping = true;
      clearInterval(watch);
      kafka.stop().then(
        () => resolve(0),
        (err: unknown) => {
          log(`stop failed: ${String(err)}`);
          resolve(1);
        },
      );
    };
    const watch = setInterval(() => {
      if (pid !== undefined && !isAlive(pid)) {
        log(`the broker exited on its own; see ${dataDirLayout().logFile}`);
        clearInterval(watch);
        resolve(1);
      }
    }, 2000);
    process.once("SIGINT", shutdown);
    process.once("SIGTERM", shutdown);
  });
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case "start":
      return start(rest.includes("--detach"));
    case "stop":
      await stopKafka({ log });
      return 0;
    case "status": {
      const pid = await brokerPid();
      log(pid === undefined ? "not running (from this data dir)" : `running, pid ${pid}`);
      return pid === undefined ? 3 : 0;
    }
    case "fetch":
      process.stdout.write(`${await fetchKafka({ log })}\n`);
      return 0;
    default:
      process.stderr.write(`${USAGE}\n`);
      return command === undefined || command === "help" || command === "--help" ? 0 : 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    log(err instanceof Error ? err.message : String(err));
    process.exit(1);
  },
);
