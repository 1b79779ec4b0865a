import { type ChildProcess, spawn } from "node:child_process";
import { openSync, readdirSync, readFileSync } from "node:fs";
import { readFile, rm } from "node:fs/promises";
import { join } from "node:path";

export function javaBin(): string {
  return process.env.JAVA_HOME ? join(process.env.JAVA_HOME, "bin", "java") : "java";
}

export function classpath(libs: string): string {
  return `${libs}/*`;
}

/** Runs java to completion and returns its exit code and (tail of) output. */
export function runJava(args: string[]): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(javaBin(), args, { stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    const collect = (chunk: Buffer): void => {
      output = (output + chunk.toString()).slice(-8000);
    };
    child.stdout.on("data", collect);
    child.stderr.on("data", collect);
    child.on("error", (err) =>
      reject(new Error("could not run java (is a JDK 17+ installed?)", { cause: err })),
    );
    child.on("close", (code) => resolve({ code: code ?? 1, output }));
  });
}

export interface SpawnBrokerOptions {
  libs: string;
  serverProperties: string;
  log4jProperties: string;
  logFile: string;
}

/** Starts `kafka.Kafka` detached (it outlives this process) with stdout and stderr appended to `logFile`. */
export function spawnBroker(o: SpawnBrokerOptions): ChildProcess {
  const heap = (process.env.KAFKA_HEAP_OPTS ?? "-Xms256m -Xmx512m").split(/\s+/).filter(Boolean);
  const fd = openSync(o.logFile, "a");
  const child = spawn(
    javaBin(),
    [
      ...heap,
      "-XX:+UseG1GC",
      "-XX:MaxGCPauseMillis=20",
      "-XX:+ExitOnOutOfMemoryError",
      "-Djava.awt.headless=true",
      `-Dlog4j2.configurationFile=${o.log4jProperties}`,
      "-cp",
      classpath(o.libs),
      "kafka.Kafka",
      o.serverProperties,
    ],
    { detached: true, stdio: ["ignore", fd, fd] },
  );
  child.unref();
  return child;
}

/** Alive and not a zombie (a zombie still answers kill(pid, 0)). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return !/^\d+ \(.*\) Z/.test(stat);
  } catch {
    return true; // no procfs: trust kill(0)
  }
}

/** Guards against a recycled pid: only a JVM running kafka.Kafka counts. */
export function isKafkaProcess(pid: number): boolean {
  if (!isAlive(pid)) return false;
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("kafka.Kafka");
  } catch {
    return true;
  }
}

/** The Kafka brokers running on this machine (JVMs running kafka.Kafka), found through procfs. */
export function kafkaProcesses(): number[] {
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return [];
  }
  return entries
    .filter((name) => /^\d+$/.test(name))
    .map(Number)
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("kafka.Kafka") && isAlive(pid);
      } catch {
        return false;
      }
    });
}

export async function readPid(file: string): Promise<number | undefined> {
  try {
    const pid = Number.parseInt((await readFile(file, "utf8")).trim(), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function waitExit(pid: number, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (!isAlive(pid)) return true;
    await sleep(200);
  }
  return !isAlive(pid);
}

/** SIGTERM (Kafka shuts down cleanly), wait up to `graceMs`, then SIGKILL. Removes the pid file. */
export async function stopPid(pid: number, pidFile: string, graceMs = 30_000): Promise<"stopped" | "killed"> {
  let outcome: "stopped" | "killed" = "stopped";
  if (isAlive(pid)) {
    process.kill(pid, "SIGTERM");
    if (!(await waitExit(pid, graceMs))) {
      outcome = "killed";
      process.kill(pid, "SIGKILL");
      await waitExit(pid, 5000);
    }
  }
  await rm(pidFile, { force: true });
  return outcome;
}

export async function logTail(file: string, lines = 40): Promise<string> {
  try {
    return (await readFile(file, "utf8")).trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log written)";
  }
}
