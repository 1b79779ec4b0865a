import { rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import pg from "pg";
import { migrateDatabase } from "../db/migrate.ts";
import { startNeonProxy } from "./neon/server.ts";
import { type PostgresServer, startPostgresServer } from "./postgres-server.ts";

/**
 * Fault drills for tests that run where processes cannot be spawned (the Workers test pool): a
 * throwaway PostgreSQL, separate from the shared one, with its own Neon endpoint, that a test stops
 * and starts over loopback HTTP (`POST /postgres/stop`, `POST /postgres/start`).
 */
export interface Drills {
  controlUrl: string;
  /** Database URL of the throwaway cluster and the Neon endpoint in front of it. */
  postgresUrl: string;
  neonUrl: string;
  close(): Promise<void>;
}

export const startDrills = async (opts: { dataDir: string; postgresPort: number }): Promise<Drills> => {
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

  const server: Server = createServer((req, res) => {
    const action = req.method === "POST" ? req.url : undefined;
    const run = action === "/postgres/stop" ? stop : action === "/postgres/start" ? start : undefined;
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
    neonUrl: neon.url,
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await neon.close();
      await stop();
      rmSync(opts.dataDir, { recursive: true, force: true });
    },
  };
};
