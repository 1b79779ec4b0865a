import { sql } from "drizzle-orm";
import { priceListPrices, priceLists, products, productVariants } from "../../../../db/schema/index.ts";
import type { EdgeDb } from "../../../platform/clients.ts";
import type { PriceList, PriceListInput } from "./schemas.ts";

/** Postgres, the price lists of record, reached through the Neon driver. */

type ListRow = {
  id: string;
  name: string;
  currency: PriceList["currency"];
  starts_at: string | Date;
  ends_at: string | Date | null;
  version: string | number;
  price_count: string | number;
};

const iso = (value: string | Date): string => new Date(value).toISOString();

const toPriceList = (row: ListRow): PriceList => ({
  priceListId: row.id,
  name: row.name,
  currency: row.currency,
  startsAt: iso(row.starts_at),
  endsAt: row.ends_at === null ? null : iso(row.ends_at),
  priceCount: Number(row.price_count),
  version: Number(row.version),
});

/** The variants among `ids` that do not exist (or were taken off their product), and those that sell in another currency than `currency`. */
export const findUnpriceable = async (
  db: EdgeDb,
  currency: string,
  ids: readonly string[],
): Promise<{ unknown: string[]; otherCurrency: string[] }> => {
  if (ids.length === 0) return { unknown: [], otherCurrency: [] };
  const { rows } = await db.execute<{ id: string; currency: string }>(
    sql`select v.id as id, ${products.currency} as currency
        from ${productVariants} as v join ${products} on ${products.id} = v.product_id
        where v.id = any(${sql.param(ids)}::varchar[]) and v.deleted_at is null`,
  );
  const found = new Map(rows.map((row) => [row.id, row.currency]));
  return {
    unknown: ids.filter((id) => !found.has(id)),
    otherCurrency: ids.filter((id) => found.has(id) && found.get(id) !== currency),
  };
};

/**
 * One price-list writer at a time: its statement then sees the prices the last writer committed, and
 * two writes touching the same products cannot lock their rows in opposite orders (writes are rare).
 */
const lockPriceLists = (db: EdgeDb) =>
  db.execute(sql`select pg_advisory_xact_lock(hashtextextended('price-lists', 0))`);

/**
 * Writes the list and replaces its prices in one transaction, and raises the version of every product
 * whose schedule changed (prices added, changed or removed), so caches replace their entries. Answers
 * the list as saved and those products' ids.
 */
export const savePriceList = async (
  db: EdgeDb,
  id: string,
  input: PriceListInput,
): Promise<{ list: PriceList; touched: string[] }> => {
  const [, written] = await db.batch([
    lockPriceLists(db),
    db.execute<ListRow & { touched: string[] }>(sql`
      with input as (
        select * from unnest(${sql.param(input.prices.map((p) => p.variantId))}::varchar[],
          ${sql.param(input.prices.map((p) => p.priceCents))}::bigint[]) as x(variant_id, price_cents)
      ), list as (
        insert into ${priceLists} (id, name, currency, starts_at, ends_at, updated_at)
        values (${id}, ${input.name}, ${input.currency}, ${input.startsAt}::timestamptz,
          ${input.endsAt ?? null}::timestamptz, now())
        on conflict (id) do update set name = excluded.name, currency = excluded.currency,
          starts_at = excluded.starts_at, ends_at = excluded.ends_at, updated_at = now(),
          version = ${priceLists.version} + 1
        returning *
      ), removed as (
        delete from ${priceListPrices} as p
        where p.price_list_id = ${id} and not exists (select 1 from input where input.variant_id = p.variant_id)
        returning p.variant_id
      ), written as (
        insert into ${priceListPrices} (price_list_id, variant_id, price_cents)
        select ${id}, variant_id, price_cents from input
        on conflict (price_list_id, variant_id) do update set price_cents = excluded.price_cents
        returning variant_id
      ), changed as (
        select variant_id from removed union select variant_id from written
      ), bumped as (
        update ${products} set version = ${products.version} + 1
        where ${products.id} in (select v.product_id from ${productVariants} as v join changed on changed.variant_id = v.id)
      ), touched as (
        select variant_id as id from changed
      )
      select list.id, list.name, list.currency, list.starts_at, list.ends_at, list.version,
        (select count(*) from written) as price_count,
        (select coalesce(array_agg(id order by id), '{}') from touched) as touched
      from list`),
  ]);
  const row = written.rows[0];
  if (!row) throw new Error(`price list ${id} was not written`);
  return { list: toPriceList(row), touched: row.touched };
};

/**
 * Ends the list now (at its start, if it has not started: it then never applies) and raises the
 * version of its products. A list that has ended already stays as it is. Either way the answer names
 * all the list's variants, so a repeated request (its first answer lost, or the caches not written)
 * writes them through again. Undefined: no such list.
 */
export const endPriceList = async (
  db: EdgeDb,
  id: string,
): Promise<{ list: PriceList; touched: string[] } | undefined> => {
  const [, ended] = await db.batch([
    lockPriceLists(db),
    db.execute<ListRow & { touched: string[] }>(sql`
      with ended as (
        update ${priceLists} set ends_at = greatest(now(), starts_at), updated_at = now(),
          version = ${priceLists.version} + 1
        where id = ${id} and (ends_at is null or ends_at > now())
        returning *
      ), bumped as (
        update ${products} set version = ${products.version} + 1
        where exists (select 1 from ended) and ${products.id} in
          (select v.product_id from ${productVariants} as v
            join ${priceListPrices} as p on p.variant_id = v.id where p.price_list_id = ${id})
      ), list as (
        select id, name, currency, starts_at, ends_at, version from ended
        union all
        select id, name, currency, starts_at, ends_at, version from ${priceLists}
        where id = ${id} and not exists (select 1 from ended)
      )
      select list.*,
        (select count(*) from ${priceListPrices} where price_list_id = ${id}) as price_count,
        (select coalesce(array_agg(variant_id order by variant_id), '{}') from ${priceListPrices}
          where price_list_id = ${id}) as touched
      from list`),
  ]);
  const row = ended.rows[0];
  return row ? { list: toPriceList(row), touched: row.touched } : undefined;
};

export const readPriceList = async (db: EdgeDb, id: string): Promise<PriceList | undefined> => {
  const { rows } = await db.execute<ListRow>(sql`
    select l.id, l.name, l.currency, l.starts_at, l.ends_at, l.version,
      (select count(*) from ${priceListPrices} where price_list_id = l.id) as price_count
    from ${priceLists} as l where l.id = ${id}`);
  const row = rows[0];
  return row ? toPriceList(row) : undefined;
};
