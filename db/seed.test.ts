import { eq, inArray } from "drizzle-orm";
import { afterAll, describe, expect, inject, it } from "vitest";
import { createNodeDb } from "./node-client.ts";
import { products } from "./schema/index.ts";
import { seedCatalog } from "./seed.ts";
import { seedProduct } from "./seed-data.ts";
import { seedImageKeys, seedImageKeysByCategory } from "./seed-images.ts";

const databaseUrl = inject("stack").databaseUrl;
const { db, pool } = createNodeDb(databaseUrl, { max: 2 });
afterAll(() => pool.end());

describe("seedCatalog", () => {
  it("gives every seed product the keys of its generated pictures", async () => {
    const byCategory = await seedImageKeysByCategory();
    const rows = await db
      .select({ id: products.id, category: products.category, imageKeys: products.imageKeys })
      .from(products)
      .where(inArray(products.id, ["prod_0000001", "prod_0000002", "prod_0000999"]));
    expect(rows).toHaveLength(3);
    for (const row of rows) {
      const index = Number(row.id.slice(5)) - 1;
      expect(row.category).toBe(seedProduct(index).category);
      expect(row.imageKeys).toEqual(seedImageKeys(byCategory, row.category, index));
    }
  });

  it("gives pictures to seed products seeded without them, and leaves other images alone", async () => {
    const bare = "prod_9999998";
    const own = "prod_9999999";
    const base = { description: "", priceCents: 100, currency: "USD" as const, category: "kitchen" };
    await db.delete(products).where(inArray(products.id, [bare, own]));
    await db.insert(products).values([
      { ...base, id: bare, sku: "SKU-BACKFILL-1", name: "Bare", imageKeys: [] },
      { ...base, id: own, sku: "SKU-BACKFILL-2", name: "Own", imageKeys: ["own-picture.png"] },
    ]);
    try {
      const result = await seedCatalog(databaseUrl, { count: 1, onlyIfEmpty: true });
      expect(result).toMatchObject({ skipped: true });
      expect(result.backfilled).toBeGreaterThanOrEqual(1);
      const [filled] = await db.select().from(products).where(eq(products.id, bare));
      expect(filled?.imageKeys).toEqual(seedImageKeys(await seedImageKeysByCategory(), "kitchen", 9_999_997));
      const [kept] = await db.select().from(products).where(eq(products.id, own));
      expect(kept?.imageKeys).toEqual(["own-picture.png"]);
    } finally {
      await db.delete(products).where(inArray(products.id, [bare, own]));
    }
  });
});
