import { type ChildProcess, type SpawnOptions, spawn } from "node:child_process";
import { type AddressInfo, createConnection, createServer } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";

/** True when something accepts TCP connections on host:port. */
export const portOpen = (port: number, host = "127.0.0.1", timeoutMs = 500): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = createConnection({ port, host });
    const done = (open: boolean) => {
      socket.destroy();
      resolve(open);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });

/** Polls `probe` until it resolves true, or fails with `what` after `timeoutMs`. */
export const waitFor = async (
  what: string,
  probe: () => Promise<boolean>,
  timeoutMs = 60_000,
): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await probe().catch(() => false)) return;
    await sleep(200);
  }
  throw new Error(`${what} did not become ready within ${timeoutMs} ms`);
};

export interface Managed {
  child: ChildProcess;
  stop(): Promise<void>;
}

/** Spawns a long-running process and gives it a clean stop: `stopSignal`, then SIGKILL after `graceMs`. */
export const spawnManaged = (
  command: string,
  args: string[],
  options: SpawnOptions = {},
  graceMs = 10_000,
  stopSignal: NodeJS.Signals = "SIGTERM",
): Managed => {
  const child = spawn(command, args, { stdio: "ignore", ...options });
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    child.once("exit", () => resolve());
  });
  return {
    child,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill(stopSignal);
      const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
};

/** A TCP port nothing listens on right now, for servers that cannot bind port 0 themselves. */
export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
