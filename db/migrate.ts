import { fileURLToPath } from "node:url";
import { migrate } from "drizzle-orm/node-postgres/migrator";
import { createNodeDb, ensureDatabase } from "./node-client.ts";

export const MIGRATIONS_FOLDER = fileURLToPath(new URL("./migrations", import.meta.url));

/** Creates the database when missing and applies every pending drizzle-kit migration. */
export const migrateDatabase = async (databaseUrl: string): Promise<void> => {
  await ensureDatabase(databaseUrl);
  const { db, pool } = createNodeDb(databaseUrl, { max: 1 });
  try {
    // Serialise concurrent migrators (dev and tests starting together) on one advisory lock.
    await pool.query("select pg_advisory_lock(7261001)");
    await migrate(db, { migrationsFolder: MIGRATIONS_FOLDER });
  } finally {
    await pool.end();
  }
};

if (import.meta.url === `file://${process.argv[1]}`) {
  const databaseUrl = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/storefront";
  await migrateDatabase(databaseUrl);
  console.log(
    JSON.stringify({ level: "info", msg: "migrations applied", database: new URL(databaseUrl).pathname }),
  );
}
