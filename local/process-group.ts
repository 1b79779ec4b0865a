import { type SpawnOptions, spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { setTimeout as sleep } from "node:timers/promises";

/** One line of /proc/<pid>/stat, the fields this module reads. */
export interface ProcStat {
  pid: number;
  ppid: number;
  pgid: number;
  /** CPU time used so far (user + system), in clock ticks. */
  cpuTicks: number;
  /** Start time since boot, in clock ticks: with the pid, names one process even after pid reuse. */
  startTicks: number;
}

const readStat = (pid: string): ProcStat | undefined => {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name (field 2) is in parentheses and may hold spaces; fields 3+ follow the last ")".
    const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
    return {
      pid: Number(pid),
      ppid: Number(fields[1]),
      pgid: Number(fields[2]),
      cpuTicks: Number(fields[11]) + Number(fields[12]),
      startTicks: Number(fields[19]),
    };
  } catch {
    return undefined; // gone meanwhile
  }
};

/** Every process the kernel lists now (Linux /proc; empty where there is none). */
const processTable = (): ProcStat[] => {
  let pids: string[];
  try {
    pids = readdirSync("/proc").filter((name) => /^\d+$/.test(name));
  } catch {
    return [];
  }
  return pids.map(readStat).filter((stat) => stat !== undefined);
};

/** The process `pid` and all its descendants, as they are now. */
export const processTree = (pid: number, table = processTable()): ProcStat[] => {
  const tree: ProcStat[] = [];
  const parents = new Set([pid]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const stat of table) {
      if ((stat.pid === pid || parents.has(stat.ppid)) && !tree.includes(stat)) {
        tree.push(stat);
        parents.add(stat.pid);
        grew = true;
      }
    }
  }
  return tree;
};

/** Of `processes`, those still running (same pid and start time). */
export const stillRunning = (processes: readonly ProcStat[]): ProcStat[] =>
  processes.filter((p) => readStat(String(p.pid))?.startTicks === p.startTicks);

/** True while any process of group `pgid` exists. */
const groupAlive = (pgid: number): boolean => {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
};

const signalGroup = (pgid: number, signal: NodeJS.Signals): void => {
  try {
    process.kill(-pgid, signal);
  } catch {
    // the group is gone already
  }
};

/**
 * A long-running child in a process group of its own (with everything it starts, such as the workerd
 * of `wrangler dev`): stopped as a whole, its output forwarded with a `[name]` prefix and its last
 * lines kept for the report when it fails.
 */
export interface GroupProcess {
  name: string;
  pid: number;
  /** Resolves with the exit code (or signal) of the group's leader. */
  exited: Promise<number | NodeJS.Signals | null>;
  running(): boolean;
  /** Everything written so far, as lines. */
  lines(): readonly string[];
  /** The last `count` lines, for a failure report. */
  tail(count?: number): string;
  /** Output lines seen plus CPU time of the whole group: changes while the process is working. */
  progress(): number;
  /** `signal` to the whole group, SIGKILL after `graceMs`; resolves once no process of it is left. */
  stop(graceMs?: number, signal?: NodeJS.Signals): Promise<void>;
}

const KEPT_LINES = 2_000;

export const spawnGroup = (
  name: string,
  command: string,
  args: readonly string[],
  options: Omit<SpawnOptions, "stdio" | "detached"> & { echo?: (line: string) => void } = {},
): GroupProcess => {
  const child = spawn(command, args, { ...options, stdio: ["ignore", "pipe", "pipe"], detached: true });
  const pid = child.pid;
  if (pid === undefined) throw new Error(`${name}: could not start ${command}`);
  const kept: string[] = [];
  let seen = 0;
  const echo = options.echo ?? ((line: string) => process.stdout.write(`[${name}] ${line}\n`));
  for (const stream of [child.stdout, child.stderr]) {
    if (!stream) continue;
    createInterface({ input: stream }).on("line", (line) => {
      seen++;
      kept.push(line);
      if (kept.length > KEPT_LINES) kept.shift();
      echo(line);
    });
  }
  const exited = new Promise<number | NodeJS.Signals | null>((resolve) => {
    child.once("exit", (code, signal) => resolve(code ?? signal));
    child.once("error", () => resolve(null));
  });
  let leaderDone = false;
  void exited.then(() => {
    leaderDone = true;
  });
  const groupCpu = (): number =>
    processTable()
      .filter((stat) => stat.pgid === pid)
      .reduce((sum, stat) => sum + stat.cpuTicks, 0);
  return {
    name,
    pid,
    exited,
    running: () => !leaderDone,
    lines: () => kept,
    tail: (count = 30) => kept.slice(-count).join("\n"),
    progress: () => seen + groupCpu(),
    async stop(graceMs = 10_000, signal = "SIGTERM") {
      if (!groupAlive(pid)) return;
      signalGroup(pid, signal);
      const killAt = Date.now() + graceMs;
      while (groupAlive(pid) && Date.now() < killAt) await sleep(100);
      // A process of the group that did not act on the signal (or one its leader left behind).
      while (groupAlive(pid)) {
        signalGroup(pid, "SIGKILL");
        await sleep(100);
      }
      await exited;
    },
  };
};

/** Why a start gave up on a process, with what it printed last. */
export class StartFailure extends Error {
  override readonly name = "StartFailure";
  constructor(
    readonly process: GroupProcess,
    reason: string,
  ) {
    super(`${process.name} ${reason}`);
  }
}

export interface ReadyWait {
  /** Gives up when the process shows no progress (no output, no CPU time) for this long. */
  stallMs: number;
  /** Gives up at this time (ms since the epoch), progress or not. */
  deadline: number;
  /** How often to probe. */
  intervalMs?: number;
}

/**
 * Waits until `probe` answers true, as long as `proc` is alive and working: a busy machine slows a
 * start down but does not fail it. Fails at once when the process exits, after `stallMs` without
 * output or CPU time, and at the overall deadline.
 */
export const waitReady = async (
  proc: GroupProcess,
  what: string,
  probe: () => Promise<boolean>,
  { stallMs, deadline, intervalMs = 250 }: ReadyWait,
): Promise<void> => {
  let last = proc.progress();
  let lastChange = Date.now();
  for (;;) {
    if (await probe().catch(() => false)) return;
    if (!proc.running()) throw new StartFailure(proc, `exited (${await proc.exited}) before ${what}`);
    const now = Date.now();
    const progress = proc.progress();
    if (progress !== last) {
      last = progress;
      lastChange = now;
    } else if (now - lastChange > stallMs) {
      throw new StartFailure(proc, `made no progress for ${Math.round(stallMs / 1000)} s before ${what}`);
    }
    if (now > deadline)
      throw new StartFailure(proc, `was still not ${what} at the start deadline, although still working`);
    await sleep(intervalMs);
  }
};
