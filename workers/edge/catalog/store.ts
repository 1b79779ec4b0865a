import { and, asc, count, desc, eq, gt, type SQL, sql } from "drizzle-orm";
import {
  categories,
  type ProductRow,
  priceListPrices,
  priceLists,
  products,
} from "../../../db/schema/index.ts";
import { AppError } from "../../../domain/errors.ts";
import { mediaUrl } from "../../../domain/media.ts";
import type { ScheduledPrice } from "../../../domain/pricing.ts";
import type { EdgeDb } from "../../platform/clients.ts";
import type { Cursor } from "./cursor.ts";
import type { Category, Product, ProductInput, ProductListQuery } from "./schemas.ts";

/** Postgres, the product of record, reached through the Neon driver. */

/**
 * The price lists that lower the product's price now or later (in its currency, not ended yet), as
 * pricing takes them: a subquery, so every read of a product carries its schedule. Its columns are
 * named with their tables: drizzle leaves them bare in a one-table query, where `id` would be ambiguous.
 */
export const scheduleOf = sql<ScheduledPrice[]>`(
  select coalesce(json_agg(json_build_object(
      'priceListId', l.id,
      'priceCents', p.price_cents,
      'startsAtMs', (extract(epoch from l.starts_at) * 1000)::bigint,
      'endsAtMs', (extract(epoch from l.ends_at) * 1000)::bigint
    ) order by l.id), '[]'::json)
  from ${priceListPrices} as p
  join ${priceLists} as l on l.id = p.price_list_id
  where p.variant_id = "products"."id"
    and l.currency = "products"."currency"
    and p.price_cents < "products"."price_cents"
    and (l.ends_at is null or l.ends_at > now())
)`;

const productColumns = {
  id: products.id,
  sku: products.sku,
  name: products.name,
  description: products.description,
  priceCents: products.priceCents,
  currency: products.currency,
  category: products.category,
  imageKeys: products.imageKeys,
  updatedAt: products.updatedAt,
  scheduled: scheduleOf,
};

type ProductFields = Pick<ProductRow, Exclude<keyof typeof productColumns, "scheduled">> & {
  scheduled: ScheduledPrice[];
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
  sku: row.sku,
  name: row.name,
  description: row.description,
  priceCents: row.priceCents,
  currency: row.currency,
  category: row.category,
  images: row.imageKeys.map((key) => ({ url: mediaUrl(mediaBaseUrl, key), alt: row.name })),
  updatedAt: row.updatedAt.toISOString(),
  ...(row.scheduled.length > 0 ? { scheduled: row.scheduled } : {}),
});

const toRecord = (row: (ProductFields & { version: number }) | undefined, mediaBaseUrl: string) =>
  row ? { product: toProduct(row, mediaBaseUrl), version: row.version } : { product: null, version: 0 };

export const loadProduct = async (db: EdgeDb, id: string, mediaBaseUrl: string): Promise<ProductRecord> => {
  const [row] = await db
    .select({ ...productColumns, version: products.version })
    .from(products)
    .where(eq(products.id, id))
    .limit(1);
  return toRecord(row, mediaBaseUrl);
};

/** The records of the products among `ids` that exist (each with its version). */
export const loadProductRecords = async (
  db: EdgeDb,
  ids: readonly string[],
  mediaBaseUrl: string,
): Promise<ProductRecord[]> => {
  if (ids.length === 0) return [];
  const rows = await db
    .select({ ...productColumns, version: products.version })
    .from(products)
    .where(sql`${products.id} = any(${sql.param(ids)}::varchar[])`);
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
    const rows = await db
      .select({ ...productColumns, rank: sql<string>`${rank}::text` })
      .from(products)
      .where(and(...filters))
      .orderBy(desc(rank), asc(products.id))
      .limit(query.limit + 1);
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

/**
 * Inserts or replaces a product (creating its category on first use) in one transaction. The upsert
 * itself raises the version (`version + 1` on conflict) and takes `updatedAt` from Postgres' clock,
 * so of two racing updates the one that commits last has the higher version.
 */
export const saveProduct = async (
  db: EdgeDb,
  id: string,
  input: ProductInput,
  mediaBaseUrl: string,
): Promise<ProductRecord> => {
  const values = {
    id,
    sku: input.sku,
    name: input.name,
    description: input.description,
    priceCents: input.priceCents,
    currency: input.currency,
    category: input.category,
    imageKeys: input.imageKeys ?? [],
    updatedAt: sql`now()`,
  };
  // The product is read back by a statement of its own: RETURNING would read the price lists with the
  // upsert's snapshot, from before a list write it waited for, and cache an old schedule under the
  // newest version. The next statement sees every committed list while the row lock is held.
  const [, , saved] = await db.batch([
    db
      .insert(categories)
      .values({ slug: input.category, name: categoryName(input.category) })
      .onConflictDoNothing(),
    db
      .insert(products)
      .values(values)
      .onConflictDoUpdate({
        target: products.id,
        set: { ...values, id: undefined, version: sql`${products.version} + 1` },
      }),
    db
      .select({ ...productColumns, version: products.version })
      .from(products)
      .where(eq(products.id, id)),
  ]);
  const row = saved[0];
  if (!row) throw new Error(`upsert of product ${id} returned no row`);
  return toRecord(row, mediaBaseUrl);
};
