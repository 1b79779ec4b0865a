import type { ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, open, rm, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { log4j2Properties, newClusterId, type SaslSslListener, serverProperties } from "./config-files.ts";
import { fetchKafka } from "./fetch.ts";
import { defaultDataDir } from "./paths.ts";
import { kafkaAnswers, probePort, tcpOpen } from "./probe.ts";
import {
  classpath,
  isAlive,
  isKafkaProcess,
  logTail,
  readPid,
  runJava,
  spawnBroker,
  stopPid,
} from "./process.ts";

export interface EnsureKafkaOptions {
  port?: number;
  controllerPort?: number;
  dataDir?: string;
  cacheDir?: string;
  version?: string;
  /** Default partition count for topics created without one (num.partitions). */
  partitions?: number;
  /** Also listen for SASL logins over TLS on another port (the plaintext one stays for readiness). */
  saslSsl?: SaslSslListener;
  log?: (msg: string) => void;
}

export interface KafkaHandle {
  brokers: string[];
  /** False when a broker was already answering on the port and was reused. */
  startedHere: boolean;
  /** Stops the broker if this call started it; otherwise does nothing. */
  stop(): Promise<void>;
}

const HOST = "127.0.0.1";
const READY_TIMEOUT_MS = 90_000;
const LOCK_TIMEOUT_MS = 180_000;

export interface DataDirLayout {
  root: string;
  logDir: string;
  serverProperties: string;
  log4jProperties: string;
  logFile: string;
  pidFile: string;
  lockFile: string;
}

export function dataDirLayout(dataDir?: string): DataDirLayout {
  const root = resolve(dataDir ?? defaultDataDir());
  return {
    root,
    logDir: join(root, "logs"),
    serverProperties: join(root, "server.properties"),
    log4jProperties: join(root, "log4j2.properties"),
    logFile: join(root, "kafka.log"),
    pidFile: join(root, "kafka.pid"),
    lockFile: join(root, ".start.lock"),
  };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const envInt = (name: string): number | undefined =>
  process.env[name] ? Number.parseInt(process.env[name] ?? "", 10) : undefined;

function reused(broker: string, log: (msg: string) => void): KafkaHandle {
  log(`reusing the Kafka broker already answering on ${broker}`);
  return { brokers: [broker], startedHere: false, stop: async () => {} };
}

/** Takes the start lock of a data dir, or returns null once `othersDone()` says another process won. */
async function acquireLock(
  file: string,
  othersDone: () => Promise<boolean>,
): Promise<(() => Promise<void>) | null> {
  const until = Date.now() + LOCK_TIMEOUT_MS;
  for (;;) {
    try {
      const handle = await open(file, "wx");
      await handle.writeFile(String(process.pid));
      await handle.close();
      return () => rm(file, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
    const holder = await readPid(file);
    if (holder === undefined || !isAlive(holder)) {
      await rm(file, { force: true });
      continue;
    }
    if (await othersDone()) return null;
    if (Date.now() > until)
      throw new Error(`timed out waiting for the start lock ${file} (held by ${holder})`);
    await sleep(500);
  }
}

async function waitReady(broker: string, pid: number, logFile: string, child?: ChildProcess): Promise<void> {
  const until = Date.now() + READY_TIMEOUT_MS;
  let exited = false;
  child?.once("exit", () => {
    exited = true;
  });
  while (Date.now() < until) {
    if (exited || !isAlive(pid)) {
      throw new Error(
        `Kafka (pid ${pid}) exited during start-up. Last lines of ${logFile}:\n${await logTail(logFile)}`,
      );
    }
    if ((await tcpOpen(HOST, Number(broker.split(":")[1]), 500)) && (await kafkaAnswers(broker, 2000)))
      return;
    await sleep(500);
  }
  throw new Error(
    `Kafka (pid ${pid}) did not answer on ${broker} within ${READY_TIMEOUT_MS / 1000} s. ` +
      `Last lines of ${logFile}:\n${await logTail(logFile)}`,
  );
}

/** `--add-scram` arguments: every login under both SCRAM mechanisms. */
const scramArgs = (listener: SaslSslListener | undefined): string[] =>
  (listener?.users ?? []).flatMap((u) =>
    ["SCRAM-SHA-256", "SCRAM-SHA-512"].flatMap((mechanism) => [
      "--add-scram",
      `${mechanism}=[name=${u.name},password=${u.password}]`,
    ]),
  );

async function formatStorage(
  libs: string,
  layout: DataDirLayout,
  log: (msg: string) => void,
  saslSsl?: SaslSslListener,
): Promise<void> {
  if (existsSync(join(layout.logDir, "meta.properties"))) return;
  const clusterId = newClusterId();
  log(`formatting KRaft storage in ${layout.logDir} (cluster id ${clusterId})`);
  const args = ["-cp", classpath(libs), "kafka.tools.StorageTool", "format"];
  const { code, output } = await runJava([
    ...args,
    "--cluster-id",
    clusterId,
    "--config",
    layout.serverProperties,
    ...scramArgs(saslSsl),
  ]);
  if (code !== 0) throw new Error(`kafka-storage format failed (exit ${code}):\n${output}`);
}

/**
 * Makes sure a single-node KRaft Kafka broker answers on 127.0.0.1:`port`: reuses one that already
 * does, otherwise fetches Kafka (first run only), formats the data dir (first run only) and starts it
 * in the background. The broker outlives this process; `stop()` (or the CLI's `stop`) ends it.
 */
export async function ensureKafka(opts: EnsureKafkaOptions = {}): Promise<KafkaHandle> {
  const log = opts.log ?? (() => {});
  const port = opts.port ?? envInt("KAFKA_PORT") ?? 9092;
  const controllerPort = opts.controllerPort ?? envInt("KAFKA_CONTROLLER_PORT") ?? port + 1;
  const broker = `${HOST}:${port}`;
  const layout = dataDirLayout(opts.dataDir);

  const state = await probePort(HOST, port);
  if (state === "kafka") return reused(broker, log);
  if (state === "other") throw new Error(`port ${port} is in use by something that is not a Kafka broker`);

  await mkdir(layout.logDir, { recursive: true });
  const release = await acquireLock(layout.lockFile, () => kafkaAnswers(broker, 1000));
  if (release === null) return reused(broker, log);
  try {
    if ((await probePort(HOST, port)) === "kafka") return reused(broker, log);
    const running = await readPid(layout.pidFile);
    if (running !== undefined && isKafkaProcess(running)) {
      log(`a broker from ${layout.root} is starting (pid ${running}); waiting for it`);
      await waitReady(broker, running, layout.logFile);
      return reused(broker, log);
    }
    if (await tcpOpen(HOST, controllerPort))
      throw new Error(`controller port ${controllerPort} is already in use`);

    const libs = await fetchKafka({ version: opts.version, cacheDir: opts.cacheDir, log });
    const partitions = opts.partitions ?? envInt("KAFKA_NUM_PARTITIONS") ?? 3;
    await writeFile(
      layout.serverProperties,
      serverProperties({
        host: HOST,
        port,
        controllerPort,
        logDir: layout.logDir,
        partitions,
        ...(opts.saslSsl ? { saslSsl: opts.saslSsl } : {}),
      }),
    );
    await writeFile(layout.log4jProperties, log4j2Properties());
    await formatStorage(libs, layout, log, opts.saslSsl);

    const child = spawnBroker({
      libs,
      serverProperties: layout.serverProperties,
      log4jProperties: layout.log4jProperties,
      logFile: layout.logFile,
    });
    const pid = child.pid;
    if (pid === undefined) throw new Error("could not start java (is a JDK 17+ on PATH or JAVA_HOME set?)");
    await writeFile(layout.pidFile, String(pid));
    log(`started Kafka (pid ${pid}) on ${broker}, log: ${layout.logFile}`);
    const started = Date.now();
    try {
      await waitReady(broker, pid, layout.logFile, child);
    } catch (err) {
      await stopPid(pid, layout.pidFile, 5000);
      // Lost a race with a broker started from another data dir: use that one.
      if ((await probePort(HOST, port)) === "kafka") return reused(broker, log);
      throw err;
    }
    log(`Kafka answers on ${broker} after ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return {
      brokers: [broker],
      startedHere: true,
      stop: async () => {
        await stopPid(pid, layout.pidFile);
      },
    };
  } finally {
    await release();
  }
}

/** Stops the broker recorded in the data dir's pid file (works across processes). */
export async function stopKafka(
  opts: { dataDir?: string; log?: (msg: string) => void } = {},
): Promise<boolean> {
  const log = opts.log ?? (() => {});
  const layout = dataDirLayout(opts.dataDir);
  const pid = await readPid(layout.pidFile);
  if (pid === undefined || !isKafkaProcess(pid)) {
    log(`no running broker recorded in ${layout.pidFile}`);
    await rm(layout.pidFile, { force: true });
    return false;
  }
  log(`stopping Kafka (pid ${pid})`);
  const outcome = await stopPid(pid, layout.pidFile);
  log(outcome === "stopped" ? "Kafka stopped" : "Kafka did not stop in time and was killed");
  return true;
}

export async function brokerPid(dataDir?: string): Promise<number | undefined> {
  const pid = await readPid(dataDirLayout(dataDir).pidFile);
  return pid !== undefined && isKafkaProcess(pid) ? pid : undefined;
}
