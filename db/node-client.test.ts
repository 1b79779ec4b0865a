import { eq, sql } from "drizzle-orm";
import { afterAll, describe, expect, inject, it } from "vitest";
import { createNodeDb } from "./node-client.ts";
import { products } from "./schema/index.ts";

const databaseUrl = inject("stack").databaseUrl;
const { db, pool } = createNodeDb(databaseUrl, { max: 1, preparedStatements: true });
const plain = createNodeDb(databaseUrl, { max: 1 });
afterAll(async () => {
  await pool.end();
  await plain.pool.end();
});

/** The statements this connection keeps prepared, as PostgreSQL lists them. */
const preparedOn = async (on: typeof db): Promise<string[]> => {
  const { rows } = await on.execute<{ statement: string }>(
    sql`select statement from pg_prepared_statements where not from_sql`,
  );
  return rows.map((row) => row.statement);
};

describe("createNodeDb with preparedStatements", () => {
  it("prepares each data statement once per connection and reuses it, in transactions too", async () => {
    const lookup = (tx: typeof db, id: string) =>
      tx.select({ id: products.id }).from(products).where(eq(products.id, id));
    await lookup(db, "prod_0000001");
    await db.transaction(async (tx) => {
      await lookup(tx as unknown as typeof db, "prod_0000002");
      await lookup(tx as unknown as typeof db, "prod_0000003");
    });
    const statements = await preparedOn(db);
    const selects = statements.filter((s) => s.startsWith('select "id" from "products"'));
    expect(selects).toHaveLength(1);
    // Transaction control is never prepared; each text is prepared once.
    expect(statements.some((s) => /^\s*(begin|commit)/i.test(s))).toBe(false);
    expect(new Set(statements).size).toBe(statements.length);
  });

  it("leaves a pool without the option unprepared", async () => {
    await plain.db.select({ id: products.id }).from(products).where(eq(products.id, "prod_0000001"));
    expect(await preparedOn(plain.db)).toEqual([]);
  });
});
