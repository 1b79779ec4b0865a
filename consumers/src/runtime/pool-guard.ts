import type pg from "pg";
import type { Logger } from "pino";

const guarded = new WeakSet<pg.Pool>();

/**
 * When Postgres goes away, node-postgres emits `error` on the pool (idle connections) and on every
 * checked-out client (a transaction waiting on Kafka, say). Unhandled, either would crash the
 * process; the query that needed the connection fails on its own, and the runner waits for
 * Postgres to come back. Idempotent per pool.
 */
export const guardPool = (pool: pg.Pool, log: Logger): void => {
  if (guarded.has(pool)) return;
  guarded.add(pool);
  pool.on("error", (error) => log.warn({ err: error }, "idle Postgres connection failed"));
  pool.on("connect", (client) => {
    client.on("error", (error) => log.warn({ err: error }, "Postgres connection in use failed"));
  });
};
