import { createHash } from "node:crypto";
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

/** Statements a connection keeps prepared at most; later new texts run unnamed (parsed each time). */
const PREPARED_PER_CONNECTION = 256;
const CACHEABLE = /^\s*(select|insert|update|delete|with)\b/i;

/**
 * Statement names by text, shared by the process's connections: hashing a text on every execution
 * cost ~3.5% of the consumers' CPU. Bounded like the connections' sets; cleared when full.
 */
const names = new Map<string, string>();
const nameOf = (text: string): string => {
  let name = names.get(text);
  if (!name) {
    if (names.size >= 4 * PREPARED_PER_CONNECTION) names.clear();
    name = `s_${createHash("sha1").update(text).digest("base64url")}`;
    names.set(text, name);
  }
  return name;
};

/**
 * Names each data statement by a hash of its text, so PostgreSQL parses and plans it once per
 * connection and then reuses the plan, as JDBC drivers do after a few executions: a statement's
 * planning costs more than its execution for the consumers' short CTE statements. node-postgres
 * sends a named statement's Parse once per connection. The set per connection is bounded; DDL and
 * transaction control are never named. Queries that carry their own name keep it.
 */
const prepareStatements = (client: pg.PoolClient): void => {
  const named = new Set<string>();
  const query = client.query.bind(client) as (...args: unknown[]) => unknown;
  const naming = (...args: unknown[]): unknown => {
    const [config, ...rest] = args;
    if (config !== null && typeof config === "object" && !("name" in config && config.name)) {
      const text = (config as { text?: unknown }).text;
      if (typeof text === "string" && CACHEABLE.test(text)) {
        const name = nameOf(text);
        if (named.has(name) || named.size < PREPARED_PER_CONNECTION) {
          named.add(name);
          return query({ ...config, name }, ...rest);
        }
      }
    }
    return query(...args);
  };
  Object.assign(client, { query: naming });
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
export const createNodeDb = (
  databaseUrl: string,
  options: NodeDbOptions & {
    /** Keep each connection's data statements prepared (see `prepareStatements`); long-running processes. */
    preparedStatements?: boolean;
  } = {},
): { db: Db; pool: pg.Pool } => {
  const { preparedStatements, ...settings } = options;
  const pool = new pg.Pool({ ...settings, connectionString: databaseUrl, max: settings.max ?? 10 });
  if (preparedStatements) pool.on("connect", prepareStatements);
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
