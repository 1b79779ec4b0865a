import { rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import pg from "pg";
import { migrateDatabase } from "../db/migrate.ts";
import { startNeonProxy } from "./neon/server.ts";
import { type PostgresServer, startPostgresServer } from "./postgres-server.ts";
import { freePort } from "./processes.ts";
import { startRedisRest } from "./redis-rest/server.ts";
import { startRedisServer } from "./redis-server.ts";
import { edgeUrl, enableEdgeRole } from "./stack.ts";

/**
 * Fault drills for tests that run where processes cannot be spawned (the Workers test pool), on
 * servers of their own, separate from the shared ones, that a test breaks and mends over loopback
 * HTTP:
 * - a throwaway PostgreSQL with its own Neon endpoint: `POST /postgres/stop`, `POST /postgres/start`;
 * - a throwaway Redis with its own Upstash REST endpoint: `POST /redis/pause` freezes the server
 *   (SIGSTOP: the endpoint's requests hang, as with a Redis that stops answering), `POST
 *   /redis/resume` lets it go on (SIGCONT).
 * Every action answers 204. Test files run in parallel, so pauses are counted: Redis stays frozen
 * until every pause has had its resume (a resume with none open does nothing). Pair each pause with
 * exactly one resume, in a `finally`; a test that stops Postgres starts it again the same way.
 */
export interface Drills {
  controlUrl: string;
  /** Database URL of the throwaway cluster (as its owner, and as the workers' role) and its Neon endpoint. */
  postgresUrl: string;
  edgePostgresUrl: string;
  neonUrl: string;
  /** The throwaway Redis (for Node clients) and its REST endpoint with its token. */
  redisUrl: string;
  redisRestUrl: string;
  redisRestToken: string;
  close(): Promise<void>;
}

export const startDrills = async (opts: {
  dataDir: string;
  postgresPort: number;
  redisDir: string;
  redisRestToken: string;
  edgePassword: string;
}): Promise<Drills> => {
  const postgresUrl = `postgres://postgres@127.0.0.1:${opts.postgresPort}/storefront_drill`;
  let postgres: PostgresServer | undefined;
  const start = async () => {
    if (postgres) return;
    // pg_stat_statements lets drills count the queries that really reached Postgres.
    postgres = await startPostgresServer({
      port: opts.postgresPort,
      dataDir: opts.dataDir,
      settings: { shared_preload_libraries: "pg_stat_statements" },
    });
    await migrateDatabase(postgresUrl);
    await enableEdgeRole(postgresUrl, opts.edgePassword);
    const client = new pg.Client({ connectionString: postgresUrl });
    await client.connect();
    await client.query("create extension if not exists pg_stat_statements");
    await client.end();
  };
  const stop = async () => {
    await postgres?.stop();
    postgres = undefined;
  };
  await start();
  const neon = await startNeonProxy({ postgresUrl, port: 0 });
  const redis = await startRedisServer({ port: await freePort(), dir: opts.redisDir });
  const redisRest = await startRedisRest({ redisUrl: redis.url, token: opts.redisRestToken, port: 0 });

  let pauses = 0;
  const actions: Record<string, () => Promise<void>> = {
    "/postgres/stop": stop,
    "/postgres/start": start,
    "/redis/pause": async () => {
      pauses += 1;
      if (pauses === 1) redis.pause();
    },
    "/redis/resume": async () => {
      if (pauses === 0) return;
      pauses -= 1;
      if (pauses === 0) redis.resume();
    },
  };
  const server: Server = createServer((req, res) => {
    const run = req.method === "POST" ? actions[req.url ?? ""] : undefined;
    if (!run) {
      res.writeHead(404).end();
      return;
    }
    run().then(
      () => res.writeHead(204).end(),
      (error: unknown) => res.writeHead(500, { "content-type": "text/plain" }).end(String(error)),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    controlUrl: `http://127.0.0.1:${port}`,
    postgresUrl,
    edgePostgresUrl: edgeUrl(postgresUrl, opts.edgePassword),
    neonUrl: neon.url,
    redisUrl: redis.url,
    redisRestUrl: redisRest.url,
    redisRestToken: opts.redisRestToken,
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      redis.resume();
      await redisRest.close();
      await redis.stop();
      await neon.close();
      await stop();
      rmSync(opts.dataDir, { recursive: true, force: true });
      rmSync(opts.redisDir, { recursive: true, force: true });
    },
  };
};
