import { and, asc, count, desc, eq, gt, type SQL, sql } from "drizzle-orm";
import { categories, type ProductRow, products, productVariants } from "../../../db/schema/index.ts";
import { AppError } from "../../../domain/errors.ts";
import { mediaUrl } from "../../../domain/media.ts";
import type { ScheduledPrice } from "../../../domain/pricing.ts";
import type { EdgeDb } from "../../platform/clients.ts";
import type { Cursor } from "./cursor.ts";
import {
  type Category,
  type Product,
  type ProductInput,
  type ProductListQuery,
  variantWrites,
} from "./schemas.ts";

/** Postgres, the product of record, reached through the Neon driver. */

/**
 * The price lists that lower the variant's price now or later (in its product's currency, not ended
 * yet), as pricing takes them. Columns are named with their tables: drizzle leaves them bare in a
 * one-table query, where `id` would be ambiguous.
 */
const scheduleOf = (variant: string) =>
  sql.raw(`(
  select coalesce(json_agg(json_build_object(
      'priceListId', l.id,
      'priceCents', p.price_cents,
      'startsAtMs', (extract(epoch from l.starts_at) * 1000)::bigint,
      'endsAtMs', (extract(epoch from l.ends_at) * 1000)::bigint
    ) order by l.id), '[]'::json)
  from price_list_prices as p
  join price_lists as l on l.id = p.price_list_id
  where p.variant_id = ${variant}.id
    and l.currency = "products"."currency"
    and p.price_cents < ${variant}.price_cents
    and (l.ends_at is null or l.ends_at > now())
)`);

/** How many variants taken off a product its cached record still names (for carts holding them). */
const RETIRED_KEPT = 100;

/** The product's live variants in order, each with its schedule: a subquery, so every read carries them. */
const variantsOf = sql<VariantFields[]>`(
  select coalesce(json_agg(json_build_object(
      'variantId', v.id,
      'sku', v.sku,
      'options', v.options,
      'priceCents', v.price_cents,
      'imageKey', v.image_key,
      'scheduled', ${scheduleOf("v")}
    ) order by v.position, v.id), '[]'::json)
  from ${productVariants} as v
  where v.product_id = "products"."id" and v.deleted_at is null
)`;

/** The variants taken off the product most lately. */
const retiredOf = sql<ProductRecordRetired[]>`(
  select coalesce(json_agg(json_build_object('variantId', r.id, 'sku', r.sku, 'options', r.options)), '[]'::json)
  from (
    select v.id, v.sku, v.options from ${productVariants} as v
    where v.product_id = "products"."id" and v.deleted_at is not null
    order by v.deleted_at desc limit ${sql.raw(String(RETIRED_KEPT))}
  ) as r
)`;

type ProductRecordRetired = NonNullable<Product["retired"]>[number];

interface VariantFields {
  variantId: string;
  sku: string;
  options: Record<string, string>;
  priceCents: number;
  imageKey: string | null;
  scheduled: ScheduledPrice[];
}

const productColumns = {
  id: products.id,
  name: products.name,
  description: products.description,
  currency: products.currency,
  category: products.category,
  imageKeys: products.imageKeys,
  options: products.options,
  updatedAt: products.updatedAt,
  variants: variantsOf,
  retired: retiredOf,
};

type ProductFields = Pick<
  ProductRow,
  "id" | "name" | "description" | "currency" | "category" | "imageKeys" | "options" | "updatedAt"
> & {
  variants: VariantFields[];
  retired: ProductRecordRetired[];
};

/**
 * A product as Postgres holds it, with the version Postgres assigned to that state (0: no such
 * product). Caches store the record and never replace a higher version with a lower one.
 */
export interface ProductRecord {
  product: Product | null;
  version: number;
}

export const toProduct = (row: ProductFields, mediaBaseUrl: string): Product => ({
  id: row.id,
  name: row.name,
  description: row.description,
  currency: row.currency,
  category: row.category,
  images: row.imageKeys.map((key) => ({ url: mediaUrl(mediaBaseUrl, key), alt: row.name })),
  updatedAt: new Date(row.updatedAt).toISOString(),
  options: row.options,
  variants: row.variants.map(({ imageKey, scheduled, ...variant }) => ({
    ...variant,
    priceCents: Number(variant.priceCents),
    ...(imageKey ? { imageUrl: mediaUrl(mediaBaseUrl, imageKey) } : {}),
    ...(scheduled.length > 0 ? { scheduled } : {}),
  })),
  ...(row.retired.length > 0 ? { retired: row.retired } : {}),
});

const toRecord = (row: (ProductFields & { version: number }) | undefined, mediaBaseUrl: string) =>
  row ? { product: toProduct(row, mediaBaseUrl), version: row.version } : { product: null, version: 0 };

/** The product that has the variant `variantId` (live or taken off it). */
const productOfVariant = (variantId: string) =>
  sql`${products.id} = (select v.product_id from ${productVariants} as v where v.id = ${variantId})`;

export const loadProduct = async (db: EdgeDb, id: string, mediaBaseUrl: string): Promise<ProductRecord> => {
  const [row] = await db
    .select({ ...productColumns, version: products.version })
    .from(products)
    .where(eq(products.id, id))
    .limit(1);
  return toRecord(row, mediaBaseUrl);
};

/** The record of the product that has (or had) the variant `variantId`. */
export const loadProductOfVariant = async (
  db: EdgeDb,
  variantId: string,
  mediaBaseUrl: string,
): Promise<ProductRecord> => {
  const [row] = await db
    .select({ ...productColumns, version: products.version })
    .from(products)
    .where(productOfVariant(variantId))
    .limit(1);
  return toRecord(row, mediaBaseUrl);
};

/** The records of the products that have any of the variants `variantIds` (each with its version). */
export const loadProductRecords = async (
  db: EdgeDb,
  variantIds: readonly string[],
  mediaBaseUrl: string,
): Promise<ProductRecord[]> => {
  if (variantIds.length === 0) return [];
  const rows = await db
    .select({ ...productColumns, version: products.version })
    .from(products)
    .where(
      sql`${products.id} in (select v.product_id from ${productVariants} as v where v.id = any(${sql.param(variantIds)}::varchar[]))`,
    );
  return rows.map((row) => toRecord(row, mediaBaseUrl));
};

/** Keyset pagination after `cursor`: by id, or by search rank then id when `q` is given. */
export const loadProductPage = async (
  db: EdgeDb,
  query: Omit<ProductListQuery, "cursor">,
  cursor: Cursor | undefined,
  mediaBaseUrl: string,
): Promise<{ items: Product[]; next: Cursor | null }> => {
  const filters: SQL[] = [];
  if (query.category) filters.push(eq(products.category, query.category));
  if (query.options && Object.keys(query.options).length > 0) {
    // One live variant with every value asked for (Size=M and Colour=Red: a red M).
    filters.push(sql`exists (select 1 from ${productVariants} as f
      where f.product_id = "products"."id" and f.deleted_at is null
        and f.options @> ${JSON.stringify(query.options)}::jsonb)`);
  }

  if (query.q) {
    const tsQuery = sql`websearch_to_tsquery('english', ${query.q})`;
    const rank = sql<number>`ts_rank(${products.search}, ${tsQuery})`;
    filters.push(sql`${products.search} @@ ${tsQuery}`);
    if (cursor) {
      if (cursor.rank === undefined)
        throw new AppError("invalid_request", "cursor does not belong to a search");
      filters.push(
        sql`(${rank} < ${cursor.rank}::real or (${rank} = ${cursor.rank}::real and ${products.id} > ${cursor.id}))`,
      );
    }
    // The page's ids first, then their records: the records' subqueries run for the page only, not
    // for every product the search matched before the sort.
    const top = db
      .select({ id: products.id, rank: sql<number>`${rank}`.as("rank") })
      .from(products)
      .where(and(...filters))
      .orderBy(desc(rank), asc(products.id))
      .limit(query.limit + 1)
      .as("top");
    const rows = await db
      .select({ ...productColumns, rank: sql<string>`${top.rank}::text` })
      .from(products)
      .innerJoin(top, eq(top.id, products.id))
      .orderBy(desc(top.rank), asc(products.id));
    const page = rows.slice(0, query.limit);
    const last = page.at(-1);
    return {
      items: page.map((row) => toProduct(row, mediaBaseUrl)),
      next: rows.length > query.limit && last ? { id: last.id, rank: Number(last.rank) } : null,
    };
  }

  if (cursor) filters.push(gt(products.id, cursor.id));
  const rows = await db
    .select(productColumns)
    .from(products)
    .where(filters.length ? and(...filters) : undefined)
    .orderBy(asc(products.id))
    .limit(query.limit + 1);
  const page = rows.slice(0, query.limit);
  const last = page.at(-1);
  return {
    items: page.map((row) => toProduct(row, mediaBaseUrl)),
    next: rows.length > query.limit && last ? { id: last.id } : null,
  };
};

export const loadCategories = async (db: EdgeDb): Promise<Category[]> => {
  const rows = await db
    .select({ slug: categories.slug, name: categories.name, productCount: count(products.id) })
    .from(categories)
    .leftJoin(products, eq(products.category, categories.slug))
    .groupBy(categories.slug, categories.name)
    .orderBy(asc(categories.slug));
  return rows;
};

const categoryName = (slug: string): string =>
  slug
    .split("-")
    .map((word) => word.charAt(0).toUpperCase() + word.slice(1))
    .join(" ");

/** Why a product write was refused: an id or SKU it asks for is another product's. */
export class CatalogConflict extends Error {
  constructor(
    message: string,
    readonly path: (string | number)[],
  ) {
    super(message);
  }
}

/**
 * Inserts or replaces a product and its variants (creating its category on first use) in one
 * transaction: variants in the body are written (a new one has no stock until an admin stock write
 * gives it some), live ones it leaves out are taken off the product (kept, with `deleted_at`, for the stock,
 * holds and order lines naming them). The upsert raises the version (`version + 1` on conflict) and
 * takes `updatedAt` from Postgres' clock, so of two racing updates the one that commits last has the
 * higher version. Nothing is written when a variant id is another product's.
 */
export const saveProduct = async (
  db: EdgeDb,
  id: string,
  input: ProductInput,
  mediaBaseUrl: string,
): Promise<ProductRecord> => {
  const variants = variantWrites(id, input);
  const first = variants[0];
  if (!first) throw new Error(`product ${id} written without a variant`);
  const ids = sql.param(variants.map((v) => v.variantId));
  const rows = sql.param(
    JSON.stringify(
      variants.map((v, position) => ({
        id: v.variantId,
        sku: v.sku,
        options: v.options,
        price_cents: v.priceCents,
        image_key: v.imageKey,
        position,
      })),
    ),
  );
  // Every statement writes only when no variant id is another product's: the last one says which.
  const free = sql`not exists (select 1 from ${productVariants} as t
    where t.id = any(${ids}::varchar[]) and t.product_id <> ${id})`;
  const values = {
    id,
    sku: first.sku,
    name: input.name,
    description: input.description,
    priceCents: first.priceCents,
    currency: input.currency,
    category: input.category,
    imageKeys: input.imageKeys ?? [],
    options: input.options ?? [],
  };
  // The product is read back by a statement of its own: RETURNING would read the price lists with the
  // upsert's snapshot, from before a list write it waited for, and cache an old schedule under the
  // newest version. The last statement sees every committed list while the row lock is held.
  const [, , , , , saved, taken] = await db.batch([
    // Writes naming one variant id take turns (locks in one order, so two never wait on each other):
    // a write that comes second sees the first's variants, and writes nothing if it lost one to it.
    db.execute(sql`select pg_advisory_xact_lock(hashtextextended('variant:' || k, 0))
      from unnest(${ids}::varchar[]) as k order by k`),
    db
      .insert(categories)
      .values({ slug: input.category, name: categoryName(input.category) })
      .onConflictDoNothing(),
    db.execute(sql`
      insert into ${products} (id, sku, name, description, price_cents, currency, category, image_keys, options, updated_at)
      select ${values.id}, ${values.sku}, ${values.name}, ${values.description}, ${values.priceCents},
        ${values.currency}, ${values.category}, ${sql.param(values.imageKeys)}::text[],
        ${JSON.stringify(values.options)}::jsonb, now()
      where ${free}
      on conflict (id) do update set sku = excluded.sku, name = excluded.name,
        description = excluded.description, price_cents = excluded.price_cents, currency = excluded.currency,
        category = excluded.category, image_keys = excluded.image_keys, options = excluded.options,
        updated_at = now(), version = ${products.version} + 1`),
    // Taken off first, so a SKU may pass from a variant that goes to one that comes.
    db.execute(sql`
      update ${productVariants} set deleted_at = now()
      where product_id = ${id} and deleted_at is null and id <> all(${ids}::varchar[]) and ${free}`),
    db.execute(sql`
      insert into ${productVariants} (id, product_id, sku, options, price_cents, image_key, position)
      select r.id, ${id}, r.sku, r.options, r.price_cents, r.image_key, r.position
      from jsonb_to_recordset(${rows}::jsonb) as r(id varchar, sku varchar, options jsonb, price_cents bigint,
        image_key text, position integer)
      where ${free}
      on conflict (id) do update set sku = excluded.sku, options = excluded.options,
        price_cents = excluded.price_cents, image_key = excluded.image_key, position = excluded.position,
        deleted_at = null
      where ${productVariants.productId} = excluded.product_id`),
    db
      .select({ ...productColumns, version: products.version })
      .from(products)
      .where(eq(products.id, id)),
    db.execute<{ id: string; product_id: string }>(sql`
      select t.id, t.product_id from ${productVariants} as t
      where t.id = any(${ids}::varchar[]) and t.product_id <> ${id} limit 1`),
  ]);
  const conflict = taken.rows[0];
  if (conflict) {
    throw new CatalogConflict(
      `variant id ${conflict.id} belongs to product ${conflict.product_id}`,
      input.variants ? ["variants"] : [],
    );
  }
  const row = saved[0];
  if (!row) throw new Error(`upsert of product ${id} returned no row`);
  return toRecord(row, mediaBaseUrl);
};
