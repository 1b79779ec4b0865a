import { mkdirSync } from "node:fs";
import { Redis } from "ioredis";
import { type Managed, portOpen, spawnManaged, waitFor } from "./processes.ts";

export interface RedisServer {
  url: string;
  port: number;
  pid: number | undefined;
  /** Freezes the server (SIGSTOP): connections stay open and nothing answers, as in a real hang. */
  pause(): void;
  /** Lets a paused server run again (SIGCONT); what it was sent meanwhile is answered then. */
  resume(): void;
  stop(): Promise<void>;
}

/** Starts a private, non-persistent redis-server (for machines without one, and for fault drills). */
export const startRedisServer = async (opts: {
  port: number;
  dir: string;
  /** More `redis-server` options, e.g. `["--maxmemory", "64mb", "--maxmemory-policy", "allkeys-lru"]`. */
  args?: string[];
}): Promise<RedisServer> => {
  if (await portOpen(opts.port))
    throw new Error(`port ${opts.port} is taken; stop whatever listens there first`);
  mkdirSync(opts.dir, { recursive: true });
  const server: Managed = spawnManaged("redis-server", [
    "--port",
    String(opts.port),
    "--bind",
    "127.0.0.1",
    "--save",
    "",
    "--appendonly",
    "no",
    "--dir",
    opts.dir,
    ...(opts.args ?? []),
  ]);
  const url = `redis://127.0.0.1:${opts.port}`;
  await waitFor(
    `redis-server on ${opts.port}`,
    async () => {
      const client = new Redis(url, {
        lazyConnect: true,
        maxRetriesPerRequest: 0,
        retryStrategy: () => null,
      });
      client.on("error", () => undefined); // refused until the server listens: the poll retries
      try {
        await client.connect();
        return (await client.ping()) === "PONG";
      } finally {
        client.disconnect();
      }
    },
    15_000,
  );
  const signal = (name: NodeJS.Signals) => {
    if (server.child.exitCode === null && server.child.signalCode === null) server.child.kill(name);
  };
  return {
    url,
    port: opts.port,
    pid: server.child.pid,
    pause: () => signal("SIGSTOP"),
    resume: () => signal("SIGCONT"),
    async stop() {
      signal("SIGCONT"); // a stopped process would not act on SIGTERM
      await server.stop();
    },
  };
};
