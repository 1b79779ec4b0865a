import { parseArgs } from "node:util";
import { SingleBar } from "cli-progress";
import type pg from "pg";
import { migrateDatabase } from "./migrate.ts";
import { createNodeDb } from "./node-client.ts";
import { SEED_CATEGORIES, seedProduct, seedVariants } from "./seed-data.ts";
import { seedImageKeys, seedImageKeysByCategory } from "./seed-images.ts";

export const MAX_SEED_COUNT = 1_000_000;
const BATCH = 5_000;

export interface SeedOptions {
  count: number;
  onlyIfEmpty?: boolean;
  onProgress?: (done: number, total: number) => void;
}

const insertBatch = async (
  pool: pg.Pool,
  from: number,
  to: number,
  imageKeys: ReadonlyMap<string, readonly string[]>,
): Promise<void> => {
  const rows = Array.from({ length: to - from }, (_, i) => {
    const product = seedProduct(from + i);
    const { options, variants } = seedVariants(from + i, product);
    const first = variants[0] ?? { sku: product.sku, priceCents: product.priceCents };
    // Media keys never contain a comma, so a joined list crosses unnest() as one text per row.
    return {
      ...product,
      // A product repeats its first variant's SKU and price (see db/schema/catalog.ts).
      sku: first.sku,
      priceCents: first.priceCents,
      options: JSON.stringify(options),
      variants: variants.map((variant, position) => ({ ...variant, productId: product.id, position })),
      imageKeys: seedImageKeys(imageKeys, product.category, from + i).join(","),
    };
  });
  const column = <K extends keyof (typeof rows)[number]>(key: K) => rows.map((row) => row[key]);
  const variants = rows.flatMap((row) => row.variants);
  const variantColumn = <K extends keyof (typeof variants)[number]>(key: K) => variants.map((v) => v[key]);
  const client = await pool.connect();
  try {
    await client.query("begin");
    // A product seeded before it had pictures gets them; one with images of its own keeps them.
    await client.query(
      `insert into products (id, sku, name, description, price_cents, currency, category, image_keys, options)
       select id, sku, name, description, price_cents, currency, category, string_to_array(image_keys, ','), options::jsonb
       from unnest($1::varchar[], $2::varchar[], $3::text[], $4::text[], $5::int[], $6::varchar[], $7::varchar[], $8::text[], $9::text[])
         as t(id, sku, name, description, price_cents, currency, category, image_keys, options)
       on conflict (id) do update set image_keys = excluded.image_keys, version = products.version + 1
       where products.image_keys = '{}'`,
      [
        column("id"),
        column("sku"),
        column("name"),
        column("description"),
        column("priceCents"),
        column("currency"),
        column("category"),
        column("imageKeys"),
        column("options"),
      ],
    );
    await client.query(
      `insert into product_variants (id, product_id, sku, options, price_cents, position)
       select id, product_id, sku, options::jsonb, price_cents, position
       from unnest($1::varchar[], $2::varchar[], $3::varchar[], $4::text[], $5::int[], $6::int[])
         as t(id, product_id, sku, options, price_cents, position)
       on conflict (id) do nothing`,
      [
        variantColumn("id"),
        variantColumn("productId"),
        variantColumn("sku"),
        variants.map((v) => JSON.stringify(v.options)),
        variantColumn("priceCents"),
        variantColumn("position"),
      ],
    );
    await client.query(
      `insert into inventory (variant_id, available)
       select * from unnest($1::varchar[], $2::int[])
       on conflict (variant_id) do nothing`,
      [variantColumn("id"), variantColumn("available")],
    );
    await client.query("commit");
  } catch (error) {
    await client.query("rollback");
    throw error;
  } finally {
    client.release();
  }
};

/**
 * Gives seed products that have no pictures yet (a catalog seeded before the seed drew them) their
 * seed pictures, in batches of the rows that need it; products with images of their own keep them.
 */
const backfillImageKeys = async (
  pool: pg.Pool,
  imageKeys: ReadonlyMap<string, readonly string[]>,
): Promise<number> => {
  let updated = 0;
  for (;;) {
    const { rows } = await pool.query<{ id: string; category: string }>(
      `select id, category from products
       where image_keys = '{}' and id ~ '^prod_[0-9]{7}$' and category = any($1::varchar[])
       order by id limit ${BATCH}`,
      [[...imageKeys.keys()]],
    );
    if (rows.length === 0) return updated;
    await pool.query(
      `update products p set image_keys = string_to_array(t.keys, ','), version = p.version + 1
       from unnest($1::varchar[], $2::text[]) as t(id, keys)
       where p.id = t.id and p.image_keys = '{}'`,
      [
        rows.map((row) => row.id),
        rows.map((row) => seedImageKeys(imageKeys, row.category, Number(row.id.slice(5)) - 1).join(",")),
      ],
    );
    updated += rows.length;
  }
};

/**
 * Seeds categories, products (with the keys of their generated pictures, see seed-images.ts), their
 * variants (one each for the first 1,000; 1 to 6 sizes after, see `seedVariants`) and their stock; rerunning with the same count changes nothing. With `onlyIfEmpty` on a catalog that has
 * products, it only gives seed products without pictures theirs (`backfilled`).
 */
export const seedCatalog = async (
  databaseUrl: string,
  options: SeedOptions,
): Promise<{ inserted: number; skipped: boolean; backfilled: number }> => {
  if (!Number.isInteger(options.count) || options.count < 1 || options.count > MAX_SEED_COUNT) {
    throw new Error(`--count must be an integer from 1 to ${MAX_SEED_COUNT}`);
  }
  const { pool } = createNodeDb(databaseUrl, { max: 2 });
  try {
    const imageKeys = await seedImageKeysByCategory();
    if (options.onlyIfEmpty) {
      const { rows } = await pool.query<{ any: boolean }>("select exists (select 1 from products) as any");
      if (rows[0]?.any)
        return { inserted: 0, skipped: true, backfilled: await backfillImageKeys(pool, imageKeys) };
    }
    await pool.query(
      `insert into categories (slug, name) select * from unnest($1::varchar[], $2::text[]) on conflict (slug) do nothing`,
      [SEED_CATEGORIES.map((c) => c.slug), SEED_CATEGORIES.map((c) => c.name)],
    );
    for (let from = 0; from < options.count; from += BATCH) {
      const to = Math.min(from + BATCH, options.count);
      await insertBatch(pool, from, to, imageKeys);
      options.onProgress?.(to, options.count);
    }
    return { inserted: options.count, skipped: false, backfilled: 0 };
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
      ? `catalog already has products; nothing seeded${result.backfilled ? `, ${result.backfilled} given pictures` : ""}`
      : `seeded ${count} products in ${seconds.toFixed(1)} s (${Math.round(count / seconds)} products/s); ` +
          "their pictures are uploaded by `npm run dev`, or by `npm run db:seed-images` to a running storefront",
  );
}
