import { parseArgs } from "node:util";
import { SingleBar } from "cli-progress";
import type pg from "pg";
import { migrateDatabase } from "./migrate.ts";
import { createNodeDb } from "./node-client.ts";
import { SEED_CATEGORIES, seedProduct } from "./seed-data.ts";

export const MAX_SEED_COUNT = 1_000_000;
const BATCH = 5_000;

export interface SeedOptions {
  count: number;
  onlyIfEmpty?: boolean;
  onProgress?: (done: number, total: number) => void;
}

const insertBatch = async (pool: pg.Pool, from: number, to: number): Promise<void> => {
  const rows = Array.from({ length: to - from }, (_, i) => seedProduct(from + i));
  const column = <K extends keyof (typeof rows)[number]>(key: K) => rows.map((row) => row[key]);
  const client = await pool.connect();
  try {
    await client.query("begin");
    await client.query(
      `insert into products (id, sku, name, description, price_cents, currency, category)
       select * from unnest($1::varchar[], $2::varchar[], $3::text[], $4::text[], $5::int[], $6::varchar[], $7::varchar[])
       on conflict (id) do nothing`,
      [
        column("id"),
        column("sku"),
        column("name"),
        column("description"),
        column("priceCents"),
        column("currency"),
        column("category"),
      ],
    );
    await client.query(
      `insert into inventory (product_id, available)
       select * from unnest($1::varchar[], $2::int[])
       on conflict (product_id) do nothing`,
      [column("id"), column("available")],
    );
    await client.query("commit");
  } catch (error) {
    await client.query("rollback");
    throw error;
  } finally {
    client.release();
  }
};

/** Seeds categories, products and their stock; rerunning with the same count changes nothing. */
export const seedCatalog = async (
  databaseUrl: string,
  options: SeedOptions,
): Promise<{ inserted: number; skipped: boolean }> => {
  if (!Number.isInteger(options.count) || options.count < 1 || options.count > MAX_SEED_COUNT) {
    throw new Error(`--count must be an integer from 1 to ${MAX_SEED_COUNT}`);
  }
  const { pool } = createNodeDb(databaseUrl, { max: 2 });
  try {
    if (options.onlyIfEmpty) {
      const { rows } = await pool.query<{ any: boolean }>("select exists (select 1 from products) as any");
      if (rows[0]?.any) return { inserted: 0, skipped: true };
    }
    await pool.query(
      `insert into categories (slug, name) select * from unnest($1::varchar[], $2::text[]) on conflict (slug) do nothing`,
      [SEED_CATEGORIES.map((c) => c.slug), SEED_CATEGORIES.map((c) => c.name)],
    );
    for (let from = 0; from < options.count; from += BATCH) {
      const to = Math.min(from + BATCH, options.count);
      await insertBatch(pool, from, to);
      options.onProgress?.(to, options.count);
    }
    return { inserted: options.count, skipped: false };
  } finally {
    await pool.end();
  }
};

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({
    options: { count: { type: "string", default: "1000" }, "if-empty": { type: "boolean" } },
  });
  const count = Number(values.count);
  const databaseUrl = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/storefront";
  await migrateDatabase(databaseUrl);
  const bar = new SingleBar({
    format: "seeding [{bar}] {percentage}% | {value}/{total} products | {eta}s left",
    hideCursor: true,
  });
  const started = performance.now();
  bar.start(count, 0);
  const result = await seedCatalog(databaseUrl, {
    count,
    onlyIfEmpty: values["if-empty"] ?? false,
    onProgress: (done) => bar.update(done),
  });
  bar.stop();
  const seconds = (performance.now() - started) / 1000;
  console.log(
    result.skipped
      ? "catalog already has products; nothing seeded"
      : `seeded ${count} products in ${seconds.toFixed(1)} s (${Math.round(count / seconds)} products/s)`,
  );
}
