import { drizzle, type NodePgDatabase } from "drizzle-orm/node-postgres";
import pg from "pg";
import * as schema from "./schema/index.ts";

export type Db = NodePgDatabase<typeof schema>;

/**
 * Transactions on a client this process checks out and always gives back. drizzle-orm 0.45's pooled
 * `transaction()` sends BEGIN before its try block, so a BEGIN that fails on a dead connection (a
 * Postgres restart) never releases the client, and every outage would shrink the pool for good.
 * A client that saw any error is destroyed rather than reused. Each pooled client keeps its drizzle
 * handle, so the relational schema is not rebuilt per transaction.
 */
const releasingTransactions = (db: Db, pool: pg.Pool): Db => {
  const handles = new WeakMap<pg.PoolClient, Db>();
  const handleOf = (client: pg.PoolClient): Db => {
    let handle = handles.get(client);
    if (!handle) {
      handle = drizzle(client, { schema });
      handles.set(client, handle);
    }
    return handle;
  };
  const transaction: Db["transaction"] = async (work, config) => {
    const client = await pool.connect();
    let failure: Error | undefined;
    try {
      return await handleOf(client).transaction(work, config);
    } catch (error) {
      failure = error instanceof Error ? error : new Error(String(error));
      throw error;
    } finally {
      client.release(failure);
    }
  };
  return Object.assign(db, { transaction });
};

/** Pool settings a caller may add: the pool size and the deadlines of connects and queries. */
export type NodeDbOptions = Pick<
  pg.PoolConfig,
  | "max"
  | "connectionTimeoutMillis"
  | "statement_timeout"
  | "idle_in_transaction_session_timeout"
  | "query_timeout"
  | "keepAlive"
  | "keepAliveInitialDelayMillis"
>;

/** A pooled Postgres connection for Node processes (consumers, scripts); the edge uses the Neon driver. */
export const createNodeDb = (databaseUrl: string, options: NodeDbOptions = {}): { db: Db; pool: pg.Pool } => {
  const pool = new pg.Pool({ ...options, connectionString: databaseUrl, max: options.max ?? 10 });
  return { db: releasingTransactions(drizzle(pool, { schema }), pool), pool };
};

/** Creates the database named in `databaseUrl` if the server does not have it yet. */
export const ensureDatabase = async (databaseUrl: string): Promise<void> => {
  const url = new URL(databaseUrl);
  const name = decodeURIComponent(url.pathname.replace(/^\//, ""));
  if (!/^[A-Za-z0-9_]+$/.test(name))
    throw new Error(`refusing to create database with unusual name "${name}"`);
  const admin = new URL(databaseUrl);
  admin.pathname = "/postgres";
  const client = new pg.Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    const found = await client.query("select 1 from pg_database where datname = $1", [name]);
    if (found.rowCount === 0) {
      await client.query(`create database "${name}"`).catch((error: unknown) => {
        // Two processes may race to create it; the loser sees duplicate_database (42P04).
        if ((error as { code?: string }).code !== "42P04") throw error;
      });
    }
  } finally {
    await client.end();
  }
};
