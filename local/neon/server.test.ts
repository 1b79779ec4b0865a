import { NeonDbError, neon, neonConfig } from "@neondatabase/serverless";
import { eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/neon-http";
import { integer, jsonb, numeric, pgTable, serial, text, timestamp } from "drizzle-orm/pg-core";
import type pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type NeonProxy, neonLocalConfig, startNeonProxy } from "./server.ts";
import {
  CLIENT_URL,
  CLOSED_POSTGRES_URL,
  directPool,
  dropTables,
  POSTGRES_URL,
  scratchTable,
} from "./test-support.ts";

let proxy: NeonProxy;
let direct: pg.Pool;
const items = scratchTable("items");
const products = scratchTable("products");

beforeAll(async () => {
  proxy = await startNeonProxy({ postgresUrl: POSTGRES_URL, port: 0 });
  Object.assign(neonConfig, neonLocalConfig(proxy.port));
  direct = directPool();
  await direct.query(`create table "${items}" (id int primary key, label text not null)`);
});

afterAll(async () => {
  await dropTables(direct, [items, products]);
  await direct.end();
  await proxy.close();
});

/** Expects `promise` to reject with a NeonDbError and returns it. */
const neonError = async (promise: Promise<unknown>): Promise<NeonDbError> => {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(NeonDbError);
  return error as NeonDbError;
};

describe("neon() over HTTP /sql", () => {
  it("round-trips parameters of every common type exactly", async () => {
    const sql = neon(CLIENT_URL);
    const at = new Date("2024-02-29T23:59:58.123Z");
    const doc = { name: "Zoë", tags: ["ä", "🚀"], nested: { n: 1.5, ok: true, none: null } };
    const big = 9_007_199_254_740_993n; // 2^53 + 1: wrong if anything goes through a JS number
    const [row] = await sql`
      select ${42}::int as i, ${big}::int8 as b, ${"12345678901234567890.000000001"}::numeric as n,
             ${at}::timestamptz as t, ${JSON.stringify(doc)}::jsonb as j, ${[1, 2, 3]}::int[] as ia,
             ${["a,b", 'say "hi"', null, "back\\slash"]}::text[] as ta, ${null}::text as nothing,
             ${"héllo wörld — 日本語 🌍"}::text as u, ${true}::bool as flag`;
    expect(row).toEqual({
      i: 42,
      b: "9007199254740993",
      n: "12345678901234567890.000000001",
      t: at,
      j: doc,
      ia: [1, 2, 3],
      ta: ["a,b", 'say "hi"', null, "back\\slash"],
      nothing: null,
      u: "héllo wörld — 日本語 🌍",
      flag: true,
    });
  });

  it("stores what it was sent (checked over a direct connection)", async () => {
    const sql = neon(CLIENT_URL);
    await sql`insert into ${sql.unsafe(`"${items}"`)} (id, label) values (${1}, ${"naïve café ☕"}), (${2}, ${"x"})`;
    const { rows } = await direct.query(`select id, label from "${items}" order by id`);
    expect(rows).toEqual([
      { id: 1, label: "naïve café ☕" },
      { id: 2, label: "x" },
    ]);
  });

  it("honours arrayMode and fullResults, on neon() and per query", async () => {
    const arrays = neon(CLIENT_URL, { arrayMode: true });
    expect(await arrays`select 1 as a, 'x' as b union all select 2, null`).toEqual([
      [1, "x"],
      [2, null],
    ]);

    const sql = neon(CLIENT_URL);
    const full = await sql.query(`update "${items}" set label = label || '!' where id = any($1)`, [[1, 2]], {
      fullResults: true,
    });
    expect(full).toMatchObject({ command: "UPDATE", rowCount: 2, rows: [], rowAsArray: false });

    const selected = await sql.query("select $1::int8 as big, now() as t", ["7"], {
      fullResults: true,
      arrayMode: true,
    });
    expect(selected.command).toBe("SELECT");
    expect(selected.rowCount).toBe(1);
    expect(selected.rowAsArray).toBe(true);
    expect(selected.fields.map((f) => [f.name, f.dataTypeID])).toEqual([
      ["big", 20],
      ["t", 1184],
    ]);
    expect(selected.rows[0]?.[0]).toBe("7");
    expect(selected.rows[0]?.[1]).toBeInstanceOf(Date);
  });

  it("connects as the user and database the connection string names", async () => {
    const asRoot = neon("postgres://root@anything.example/test");
    expect(await asRoot`select current_user as u, current_database() as d`).toEqual([
      { u: "root", d: "test" },
    ]);
    const error = await neonError(neon("postgres://postgres@h.example/no_such_db_neon_local")`select 1`);
    expect(error.code).toBe("3D000");
  });

  it("surfaces PostgreSQL errors as NeonDbError with their SQLSTATE and details", async () => {
    const sql = neon(CLIENT_URL);
    const duplicate = await neonError(sql.query(`insert into "${items}" (id, label) values (1, 'again')`));
    expect(duplicate.code).toBe("23505");
    expect(duplicate.message).toContain("duplicate key value violates unique constraint");
    expect(duplicate.constraint).toBe(`${items}_pkey`);
    expect(duplicate.table).toBe(items);
    expect(duplicate.detail).toBe("Key (id)=(1) already exists.");
    expect(duplicate.severity).toBe("ERROR");

    const syntax = await neonError(sql.query("selec 1"));
    expect(syntax.code).toBe("42601");
    expect(syntax.position).toBe("1");

    // Neon runs each query as one prepared statement: two statements in one query are an error.
    const multi = await neonError(sql.query("select 1; select 2"));
    expect(multi.code).toBe("42601");
  });
});

describe("sql.transaction() over HTTP /sql", () => {
  it("commits every query in one transaction with the requested characteristics", async () => {
    const sql = neon(CLIENT_URL);
    const [inserted, setting, readOnly, count] = await sql.transaction(
      [
        sql`insert into ${sql.unsafe(`"${items}"`)} (id, label) values (10, 'ten'), (11, 'eleven') returning id`,
        sql`select current_setting('transaction_isolation') as level`,
        sql`select current_setting('transaction_read_only') as ro, txid_current_if_assigned() is not null as wrote`,
        sql`select count(*)::int as n from ${sql.unsafe(`"${items}"`)} where id >= 10`,
      ],
      { isolationLevel: "Serializable" },
    );
    expect(inserted).toEqual([{ id: 10 }, { id: 11 }]);
    expect(setting).toEqual([{ level: "serializable" }]);
    expect(readOnly).toEqual([{ ro: "off", wrote: true }]);
    expect(count).toEqual([{ n: 2 }]);
    const { rows } = await direct.query(`select id from "${items}" where id >= 10 order by id`);
    expect(rows).toEqual([{ id: 10 }, { id: 11 }]);

    const [levels] = await sql.transaction(
      (txn) => [
        txn`select current_setting('transaction_isolation') as i, current_setting('transaction_read_only') as r,
                   current_setting('transaction_deferrable') as d`,
      ],
      { isolationLevel: "Serializable", readOnly: true, deferrable: true, arrayMode: true },
    );
    expect(levels).toEqual([["serializable", "on", "on"]]);
  });

  it("rolls back everything when one query fails, and reports that query's error", async () => {
    const sql = neon(CLIENT_URL);
    const error = await neonError(
      sql.transaction([
        sql`insert into ${sql.unsafe(`"${items}"`)} (id, label) values (20, 'twenty')`,
        sql`update ${sql.unsafe(`"${items}"`)} set label = 'changed' where id = 1`,
        sql`insert into ${sql.unsafe(`"${items}"`)} (id, label) values (1, 'duplicate')`,
        sql`insert into ${sql.unsafe(`"${items}"`)} (id, label) values (21, 'never')`,
      ]),
    );
    expect(error.code).toBe("23505");
    const { rows } = await direct.query(
      `select id, label from "${items}" where id in (1, 20, 21) order by id`,
    );
    expect(rows).toEqual([{ id: 1, label: "naïve café ☕!" }]);

    const readOnly = await neonError(
      sql.transaction([sql`insert into ${sql.unsafe(`"${items}"`)} (id, label) values (30, 'ro')`], {
        readOnly: true,
      }),
    );
    expect(readOnly.code).toBe("25006");
    expect((await direct.query(`select 1 from "${items}" where id = 30`)).rowCount).toBe(0);
  });
});

describe("drizzle-orm/neon-http", () => {
  const productsTable = pgTable(products, {
    id: serial("id").primaryKey(),
    name: text("name").notNull(),
    priceCents: integer("price_cents").notNull(),
    weightKg: numeric("weight_kg", { precision: 12, scale: 6 }),
    attributes: jsonb("attributes").$type<{ colour: string; sizes: number[] }>(),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  });

  it("inserts, selects and updates with where, batching in one transaction", async () => {
    const sql = neon(CLIENT_URL);
    const db = drizzle({ client: sql });
    await sql.query(
      `create table "${products}" (id serial primary key, name text not null, price_cents int not null,
         weight_kg numeric(12,6), attributes jsonb, created_at timestamptz not null default now())`,
    );
    const inserted = await db
      .insert(productsTable)
      .values([
        {
          name: "Grüne Tasse",
          priceCents: 1299,
          weightKg: "0.350000",
          attributes: { colour: "grün", sizes: [1, 2] },
        },
        { name: "Plate", priceCents: 899 },
      ])
      .returning({ id: productsTable.id, createdAt: productsTable.createdAt });
    expect(inserted).toHaveLength(2);
    expect(inserted[0]?.createdAt).toBeInstanceOf(Date);

    const cup = await db.select().from(productsTable).where(eq(productsTable.name, "Grüne Tasse"));
    expect(cup).toEqual([
      expect.objectContaining({
        priceCents: 1299,
        weightKg: "0.350000",
        attributes: { colour: "grün", sizes: [1, 2] },
      }),
    ]);

    const updated = await db
      .update(productsTable)
      .set({ priceCents: 999 })
      .where(eq(productsTable.id, inserted[1]?.id ?? -1))
      .returning({ price: productsTable.priceCents });
    expect(updated).toEqual([{ price: 999 }]);

    const [, afterBatch] = await db.batch([
      db.update(productsTable).set({ name: "Plate (large)" }).where(eq(productsTable.priceCents, 999)),
      db.select({ name: productsTable.name }).from(productsTable).where(eq(productsTable.priceCents, 999)),
    ]);
    expect(afterBatch).toEqual([{ name: "Plate (large)" }]);

    const { rows } = await direct.query(`select name, price_cents from "${products}" order by id`);
    expect(rows).toEqual([
      { name: "Grüne Tasse", price_cents: 1299 },
      { name: "Plate (large)", price_cents: 999 },
    ]);
  });
});

describe("when PostgreSQL is down", () => {
  it("makes neon() throw promptly with a message naming the unreachable server", async () => {
    const down = await startNeonProxy({ postgresUrl: CLOSED_POSTGRES_URL });
    const previous = neonConfig.fetchEndpoint;
    neonConfig.fetchEndpoint = neonLocalConfig(down.port).fetchEndpoint;
    try {
      const started = performance.now();
      const error = await neonError(neon(CLIENT_URL)`select 1`);
      expect(performance.now() - started).toBeLessThan(3_000);
      expect(error.message).toContain("HTTP status 502");
      expect(error.message).toContain("127.0.0.1:5499");
      expect(error.message).toContain("ECONNREFUSED");
    } finally {
      neonConfig.fetchEndpoint = previous;
      await down.close();
    }
  });
});
