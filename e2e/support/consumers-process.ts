import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { REPO_ROOT } from "../../local/stack.ts";
import type { TestStackContext } from "../../local/test-context.ts";
import { waitFor } from "./pipeline.ts";

/** `node consumers/src/main.ts inventory payment`, a separate OS process in the pipeline's groups. */
export interface ConsumersProcess {
  label: string;
  child: ChildProcess;
  /** Everything it wrote so far: pino JSON lines on stdout, anything else on stderr. */
  output(): string;
  /** Resolves on its "consumers ready" line; rejects if it exits first or is not ready in time. */
  ready: Promise<void>;
  /** Exit code and signal, once it has exited. */
  exited: Promise<[number | null, NodeJS.Signals | null]>;
}

const NODE = `${REPO_ROOT}node_modules/.bin/node`;
const READY_LINE = '"msg":"consumers ready"';
/** With TEST_LOG_LEVEL set, the process's output streams to the test output as it comes. */
export const VERBOSE = Boolean(process.env.TEST_LOG_LEVEL);

export const spawnConsumers = (
  stack: TestStackContext,
  groupSuffix: string,
  label: string,
  o: { consumers?: readonly string[]; env?: Record<string, string> } = {},
): ConsumersProcess => {
  const child = spawn(NODE, ["consumers/src/main.ts", ...(o.consumers ?? ["inventory", "payment"])], {
    cwd: REPO_ROOT,
    env: {
      PATH: process.env.PATH ?? "",
      DATABASE_URL: stack.databaseUrl,
      KAFKA_BROKERS: stack.kafkaBrokers,
      REDIS_URL: stack.redisUrl,
      KAFKA_TOPIC_PREFIX: stack.kafkaTopicPrefix,
      CONSUMER_GROUP_SUFFIX: groupSuffix,
      // Both starts: the first seeds every partition's end offset before joining; the restart finds
      // those (or later) commits and resumes from them.
      CONSUMER_START_AT: "latest",
      LOG_LEVEL: "info",
      // A killed member's partitions go to the restarted one within seconds.
      KAFKA_SESSION_TIMEOUT_MS: "6000",
      KAFKA_HEARTBEAT_INTERVAL_MS: "1000",
      RETRY_INITIAL_DELAY_MS: "50",
      RETRY_MAX_DELAY_MS: "500",
      DEPENDENCY_RETRY_MAX_DELAY_MS: "1000",
      OUTBOX_RELAY_INTERVAL_MS: "200",
      // Any free port: several of these processes, and other test runs, share the machine.
      METRICS_PORT: "0",
      ...o.env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const exited = once(child, "exit") as Promise<[number | null, NodeJS.Signals | null]>;
  let output = "";
  const collect = (stream: NodeJS.ReadableStream | null): void => {
    let partial = "";
    stream?.on("data", (chunk: Buffer) => {
      output += chunk.toString();
      if (!VERBOSE) return;
      const lines = (partial + chunk.toString()).split("\n");
      partial = lines.pop() ?? "";
      for (const line of lines) process.stderr.write(`[${label}] ${line}\n`);
    });
  };
  collect(child.stdout);
  collect(child.stderr);
  const ready = waitFor(
    `${label} ready`,
    () => {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(`${label} exited (${child.exitCode ?? child.signalCode}) before it was ready`);
      }
      return output.includes(READY_LINE);
    },
    60_000,
  );
  return { label, child, output: () => output, ready, exited };
};

/** SIGKILL, unless it has exited already; resolves once it is gone. */
export const kill = async (proc: ConsumersProcess): Promise<void> => {
  if (proc.child.exitCode === null && proc.child.signalCode === null) proc.child.kill("SIGKILL");
  await proc.exited;
};
