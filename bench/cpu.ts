import { readdirSync, readFileSync } from "node:fs";

/** Kernel clock ticks per second (USER_HZ), the unit of the CPU times in /proc/<pid>/stat. */
const TICKS_PER_S = 100;

interface ProcStat {
  pid: number;
  ppid: number;
  comm: string;
  /** utime + stime */
  own: number;
  /** cutime + cstime: children that exited and were waited for. */
  reaped: number;
}

const readStat = (pid: number): ProcStat | undefined => {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, "utf8");
    const close = text.lastIndexOf(")");
    const comm = text.slice(text.indexOf("(") + 1, close);
    const f = text
      .slice(close + 2)
      .split(" ")
      .map(Number);
    // After "pid (comm) ": state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime cutime cstime
    return {
      pid,
      ppid: f[1] ?? 0,
      comm,
      own: (f[11] ?? 0) + (f[12] ?? 0),
      reaped: (f[13] ?? 0) + (f[14] ?? 0),
    };
  } catch {
    return undefined; // gone meanwhile
  }
};

const allStats = (): ProcStat[] =>
  readdirSync("/proc")
    .filter((name) => /^\d+$/.test(name))
    .map((name) => readStat(Number(name)))
    .filter((s): s is ProcStat => s !== undefined);

/** Which processes make up a component: root pids (with their descendants), or a test on each process. */
export interface CpuComponent {
  name: string;
  roots: () => Array<number | undefined>;
  /** Only the root itself, not its children (the load generator, whose children are other components). */
  selfOnly?: boolean;
  /** Descendants of the roots that belong to this component, when `roots` are not the component itself. */
  match?: (stat: { comm: string }) => boolean;
  /** Descendants (with their own) that are another component, started by this one (the broker). */
  exclude?: (stat: { comm: string }) => boolean;
}

type Snapshot = Map<string, number>;

const ticksOf = (component: CpuComponent, stats: ProcStat[], children: Map<number, ProcStat[]>): number => {
  const byPid = new Map(stats.map((s) => [s.pid, s]));
  let ticks = 0;
  const visit = (stat: ProcStat, counted: boolean): void => {
    if (component.exclude?.(stat)) return;
    const mine = counted || !component.match || component.match(stat);
    if (mine) ticks += stat.own + stat.reaped;
    if (component.selfOnly) return;
    // A counted process's reaped children are already in its `reaped`; live ones are added here.
    for (const child of children.get(stat.pid) ?? []) visit(child, mine && !component.selfOnly);
  };
  for (const root of new Set(component.roots())) {
    const stat = root === undefined ? undefined : byPid.get(root);
    if (!stat) continue;
    if (component.selfOnly) ticks += stat.own;
    else visit(stat, !component.match);
  }
  return ticks;
};

/**
 * CPU time per component over a window, from /proc (user + system, children included: a
 * PostgreSQL backend that exited is in its postmaster's reaped time). Linux only.
 */
export const cpuMeter = (components: CpuComponent[]) => {
  const snapshot = (): Snapshot => {
    const stats = allStats();
    const children = new Map<number, ProcStat[]>();
    for (const stat of stats) children.set(stat.ppid, [...(children.get(stat.ppid) ?? []), stat]);
    return new Map(components.map((c) => [c.name, ticksOf(c, stats, children)]));
  };
  const start = snapshot();
  return {
    /** CPU seconds per component since the meter was made. */
    stop(): Array<{ name: string; cpuS: number }> {
      const end = snapshot();
      return components.map((c) => ({
        name: c.name,
        cpuS: Math.max(0, (end.get(c.name) ?? 0) - (start.get(c.name) ?? 0)) / TICKS_PER_S,
      }));
    },
  };
};
