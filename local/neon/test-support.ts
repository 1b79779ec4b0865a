import pg from "pg";

/** The real PostgreSQL the tests run against (CI and team machines: trust auth, database `test`). */
export const POSTGRES_URL = process.env.NEON_TEST_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/test";

/** A port nothing listens on, for the "Postgres is down" paths. */
export const CLOSED_POSTGRES_URL = "postgres://postgres@127.0.0.1:5499/test";

/**
 * What a client puts in its connection string. The host is a name no resolver knows: the endpoint must map it
 * onto its configured server rather than dial it.
 */
export const CLIENT_URL = "postgres://postgres@db.neon-local.invalid:5432/test";

/** A scratch table name no parallel run or other suite can collide with. */
export const scratchTable = (label: string): string =>
  `neon_${label}_${process.pid}_${Date.now().toString(36)}_${Math.floor(Math.random() * 1e6).toString(36)}`;

/** A plain node-postgres connection that bypasses the endpoint, to check what really reached the database. */
export const directPool = (): pg.Pool => new pg.Pool({ connectionString: POSTGRES_URL, max: 2 });

export const dropTables = async (pool: pg.Pool, tables: string[]): Promise<void> => {
  for (const table of tables) await pool.query(`drop table if exists "${table}"`);
};
