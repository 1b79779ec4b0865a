import { execFile } from "node:child_process";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import { type GroupProcess, type ProcStat, processTree, spawnGroup, stillRunning } from "./process-group.ts";
import { freePort } from "./processes.ts";
import { REPO_ROOT } from "./stack.ts";

const execFileAsync = promisify(execFile);

/**
 * `npm run dev` driven the way a developer does it: started in a terminal's process group, used, and
 * stopped with Ctrl-C (SIGINT to the whole group); then every process that run had started is
 * looked for. For local/dev.test.ts and `npm run dev:cycle`.
 */

export interface DevRunOptions {
  /** PostgreSQL database of the run (created and migrated by the run). */
  databaseUrl: string;
  /** Redis of the run; a URL nothing answers on has the run start a private redis-server there. */
  redisUrl: string;
  kafkaBrokers: string;
  kafkaTopicPrefix: string;
  /** Extra environment (e.g. DEV_STALL_TIMEOUT_MS), on top of the run's own. */
  env?: Record<string, string>;
  /** Echo the run's output (prefixed) as it comes. */
  echo?: boolean;
}

export interface DevRun {
  proc: GroupProcess;
  storefrontUrl: string;
  checkoutUrl: string;
  adminToken: string;
  /** Resolves once the run printed that it is ready; rejects if it exits before. */
  ready(timeoutMs: number): Promise<void>;
  /** Every process seen in the run's tree so far (sampled every 200 ms while it runs). */
  seen(): ProcStat[];
}

const READY_LINE = "[dev] Ctrl-C stops everything.";
const ADMIN_TOKEN = "dev-cycle-admin-token";

/** Starts `npm run dev` on free ports, in a process group of its own (as a terminal would). */
export const startDev = async (o: DevRunOptions): Promise<DevRun> => {
  const [storefront, checkout, redisRest, cacheRedisRest, neon, kafkaRest] = await Promise.all(
    Array.from({ length: 6 }, () => freePort()),
  );
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DATABASE_URL: o.databaseUrl,
    REDIS_URL: o.redisUrl,
    KAFKA_BROKERS: o.kafkaBrokers,
    KAFKA_TOPIC_PREFIX: o.kafkaTopicPrefix,
    STOREFRONT_PORT: String(storefront),
    CHECKOUT_PORT: String(checkout),
    UPSTASH_REDIS_REST_URL: `http://127.0.0.1:${redisRest}`,
    // A cache Redis of the run's own, on any free port.
    CACHE_REDIS_URL: "redis://127.0.0.1:0",
    CACHE_REDIS_REST_URL: `http://127.0.0.1:${cacheRedisRest}`,
    NEON_LOCAL_ENDPOINT: `http://127.0.0.1:${neon}`,
    KAFKA_REST_URL: `http://127.0.0.1:${kafkaRest}`,
    // Any free port for the consumers' operations endpoints: another stack may hold 9464.
    METRICS_PORT: "0",
    ADMIN_TOKEN,
    SEED_COUNT: "50",
    ...o.env,
  };
  const proc = spawnGroup("npm run dev", "npm", ["run", "dev"], {
    cwd: REPO_ROOT,
    env,
    echo: o.echo ? (line) => process.stdout.write(`  ${line}\n`) : () => undefined,
  });
  const seen = new Map<string, ProcStat>();
  const sample = setInterval(() => {
    for (const stat of processTree(proc.pid)) seen.set(`${stat.pid}:${stat.startTicks}`, stat);
  }, 200);
  void proc.exited.then(() => clearInterval(sample));
  return {
    proc,
    storefrontUrl: `http://127.0.0.1:${storefront}`,
    checkoutUrl: `http://127.0.0.1:${checkout}`,
    adminToken: ADMIN_TOKEN,
    async ready(timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      while (!proc.lines().includes(READY_LINE)) {
        if (!proc.running()) throw new Error(`npm run dev exited (${await proc.exited}) before it was ready`);
        if (Date.now() > deadline) throw new Error(`npm run dev was not ready within ${timeoutMs} ms`);
        await sleep(250);
      }
    },
    seen: () => [...seen.values()],
  };
};

/** The endpoints answer, and an order placed through the storefront goes down the whole pipeline. */
export const checkServing = async (run: DevRun): Promise<void> => {
  const res = await fetch(`${run.checkoutUrl}/healthz`);
  if (!res.ok) throw new Error(`${run.checkoutUrl}/healthz answered ${res.status}: ${await res.text()}`);
  // What a team runs against a deployment: browse, cart, checkout, the order confirmed.
  // Asynchronously: the dev run's output keeps draining into this process meanwhile.
  await execFileAsync("npm", ["run", "--silent", "smoke", "--", run.storefrontUrl], {
    cwd: REPO_ROOT,
    timeout: 180_000,
  }).catch((error: { stdout?: string; stderr?: string; code?: unknown }) => {
    throw new Error(
      `npm run smoke -- ${run.storefrontUrl} failed (${String(error.code)}):\n${error.stdout ?? ""}${error.stderr ?? ""}`,
    );
  });
};

export interface DevExit {
  code: number | NodeJS.Signals | null;
  /** How many processes the run's tree held, over its life. */
  started: number;
  /** Those of them still running after it exited (none, if all is well). */
  left: ProcStat[];
}

/** Waits for the run to exit (at most `timeoutMs`); then looks for what is left of its tree. */
export const waitExit = async (run: DevRun, timeoutMs = 120_000): Promise<DevExit> => {
  const code = await Promise.race([run.proc.exited, sleep(timeoutMs).then(() => "timeout" as const)]);
  if (code === "timeout") throw new Error(`npm run dev did not exit within ${timeoutMs} ms`);
  await sleep(500);
  const seen = run.seen();
  return { code, started: seen.length, left: stillRunning(seen) };
};

/** Ctrl-C: SIGINT to the run's process group, as a terminal sends it; then `waitExit`. */
export const interrupt = (run: DevRun, timeoutMs?: number): Promise<DevExit> => {
  process.kill(-run.proc.pid, "SIGINT");
  return waitExit(run, timeoutMs);
};

/** The pid of the run's process whose command line contains `part` (e.g. the consumers' main.ts). */
export const pidOf = (run: DevRun, part: string): number | undefined =>
  processTree(run.proc.pid).find((stat) => {
    try {
      return readFileSync(`/proc/${stat.pid}/cmdline`, "utf8").includes(part);
    } catch {
      return false;
    }
  })?.pid;

/** Kills whatever is left (a failed check), so a broken run cannot leak into the next. */
export const killLeft = (left: readonly ProcStat[]): void => {
  for (const stat of left) {
    try {
      process.kill(stat.pid, "SIGKILL");
    } catch {
      // gone meanwhile
    }
  }
};

/** Holds `port` (a plain TCP listener) until released: a port another program took. */
export const occupy = async (url: string): Promise<() => Promise<void>> => {
  const { createServer } = await import("node:net");
  const server = createServer((socket) => socket.destroy());
  server.listen(Number(new URL(url).port), "127.0.0.1");
  await once(server, "listening");
  return async () => {
    server.close();
    await once(server, "close");
  };
};
