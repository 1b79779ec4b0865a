import { eq, sql } from "drizzle-orm";
import { afterAll, describe, expect, inject, it } from "vitest";
import { createNodeDb } from "../node-client.ts";
import { seedProduct } from "../seed-data.ts";
import { inventory, products } from "./index.ts";

const { db, pool } = createNodeDb(inject("stack").databaseUrl, { max: 2 });
afterAll(() => pool.end());

describe("schema on the real PostgreSQL", () => {
  it("holds the deterministic seed", async () => {
    const [first] = await db.select().from(products).where(eq(products.id, "prod_0000001"));
    const expected = seedProduct(0);
    expect(first).toMatchObject({
      id: expected.id,
      sku: expected.sku,
      name: expected.name,
      priceCents: expected.priceCents,
    });
    const [stock] = await db.select().from(inventory).where(eq(inventory.variantId, "prod_0000001"));
    expect(stock).toMatchObject({ available: expected.available, reserved: 0 });
  });

  it("searches with Postgres full-text search, name weighted over description", async () => {
    const term = seedProduct(3).name.split(" ").at(-1) ?? "";
    const query = sql`websearch_to_tsquery('english', ${term})`;
    const rows = await db
      .select({ id: products.id, name: products.name })
      .from(products)
      .where(sql`${products.search} @@ ${query}`)
      .orderBy(sql`ts_rank(${products.search}, ${query}) desc`)
      .limit(5);
    expect(rows.length).toBeGreaterThan(0);
    for (const row of rows) expect(row.name.toLowerCase()).toContain(term.toLowerCase());
  });

  it("keeps every amount of money in a 64-bit column", async () => {
    const { rows } = await pool.query<{ column: string; type: string }>(
      `select table_name || '.' || column_name as column, data_type as type
       from information_schema.columns where table_schema = 'public' and column_name like '%cents'`,
    );
    expect(rows.map((row) => row.column).sort()).toEqual([
      "order_lines.compare_at_price_cents",
      "order_lines.line_total_cents",
      "order_lines.unit_price_cents",
      "orders.subtotal_cents",
      "payments.amount_cents",
      "price_list_prices.price_cents",
      "product_variants.price_cents",
      "products.price_cents",
    ]);
    for (const row of rows) expect(row, row.column).toMatchObject({ type: "bigint" });
  });

  it("refuses negative stock", async () => {
    await expect(
      db.update(inventory).set({ available: -1 }).where(eq(inventory.variantId, "prod_0000002")),
    ).rejects.toMatchObject({ cause: { code: "23514", constraint: "inventory_available_nonnegative" } });
  });

  it("refuses a cancelled order without a reason", async () => {
    await expect(
      pool.query(
        `insert into orders (order_id, cart_id, email, status, subtotal_cents, currency, shipping_address, placed_at)
         values ('ord_schema_test', 'cart', 'a@b.c', 'cancelled', 0, 'USD', '{}', now())`,
      ),
    ).rejects.toThrow(/orders_reason_only_when_cancelled/);
  });
});
