import { randomUUID } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, inject } from "vitest";
import { migrateDatabase } from "../../../db/migrate.ts";
import { createNodeDb, type Db } from "../../../db/node-client.ts";

/**
 * A migrated database of one test file's own, on the test stack's PostgreSQL, dropped after the
 * file: for code that works on every row of a table (a relay, a sweep), so other files' rows are not
 * in its way, nor its in theirs. `db` and `pool` are there once `beforeAll` has run.
 */
export const useScratchDatabase = (): { db: Db; pool: pg.Pool; url: string } => {
  const url = new URL(inject("stack").databaseUrl);
  url.pathname = `/scratch_${randomUUID().replaceAll("-", "").slice(0, 12)}`;
  const scratch = { url: url.toString() } as { db: Db; pool: pg.Pool; url: string };
  beforeAll(async () => {
    await migrateDatabase(scratch.url);
    Object.assign(scratch, createNodeDb(scratch.url, { max: 6 }));
  });
  afterAll(async () => {
    await scratch.pool?.end();
    const admin = new URL(scratch.url);
    admin.pathname = "/postgres";
    const client = new pg.Client({ connectionString: admin.toString() });
    await client.connect();
    try {
      await client.query(`drop database if exists "${url.pathname.slice(1)}" with (force)`);
    } finally {
      await client.end();
    }
  });
  return scratch;
};
